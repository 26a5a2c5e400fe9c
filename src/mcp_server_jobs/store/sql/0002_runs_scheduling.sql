-- What the scheduler needs: the occurrence being attempted, its attempt number, how a run started,
-- and a fast way to find runs whose lease has run out.

ALTER TABLE jobs ADD COLUMN occurrence_at TEXT;
ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;

ALTER TABLE runs ADD COLUMN trigger TEXT NOT NULL DEFAULT 'schedule' CHECK (trigger IN ('schedule', 'manual'));

CREATE INDEX runs_leases ON runs (lease_until) WHERE outcome = 'running';

-- Never two runs of one job at once, whatever the code above does.
CREATE UNIQUE INDEX runs_one_running ON runs (job_id) WHERE outcome = 'running';
