-- A run whose inbox message could not be delivered to the webhook says so.
ALTER TABLE runs ADD COLUMN delivery_error TEXT;
