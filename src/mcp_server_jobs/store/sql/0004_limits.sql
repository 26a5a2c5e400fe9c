-- A job's per-run budget: {"max_tokens", "max_tool_calls", "max_requests"}, each optional.
ALTER TABLE jobs ADD COLUMN limits TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(limits));
