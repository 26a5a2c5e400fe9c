-- Nothing lost, nothing faked (issue 12): previews, lasting run notes, the agent's pid, one run per
-- occurrence enforced here, a durable webhook outbox, runs handed to the serving process, and who serves.

-- runs is rebuilt because SQLite cannot widen a CHECK: a dry run is recorded as a 'preview', which
-- neither advances, completes nor retries its job.
CREATE TABLE runs_new (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    scheduled_for TEXT,
    started_at TEXT,
    finished_at TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted', 'missed', 'skipped',
                                             'preview')),
    output TEXT,
    summary TEXT,
    verdict TEXT CHECK (verdict IS NULL OR json_valid(verdict)),
    error TEXT,
    backend TEXT,
    usage TEXT CHECK (usage IS NULL OR json_valid(usage)),
    lease_owner TEXT,
    lease_until TEXT,
    trigger TEXT NOT NULL DEFAULT 'schedule' CHECK (trigger IN ('schedule', 'manual')),
    delivery_error TEXT,
    -- What the run stands for beyond its own occurrence, e.g. the occurrences it covered after downtime.
    note TEXT,
    -- The agent process a command backend started, so a later start can tell it is gone.
    agent_pid INTEGER
);
INSERT INTO runs_new (seq, id, job_id, scheduled_for, started_at, finished_at, attempt, outcome, output, summary,
                      verdict, error, backend, usage, lease_owner, lease_until, trigger, delivery_error)
    SELECT seq, id, job_id, scheduled_for, started_at, finished_at, attempt, outcome, output, summary,
           verdict, error, backend, usage, lease_owner, lease_until, trigger, delivery_error
    FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
CREATE INDEX runs_job ON runs (job_id, seq);
CREATE INDEX runs_leases ON runs (lease_until) WHERE outcome = 'running';
CREATE UNIQUE INDEX runs_one_running ON runs (job_id) WHERE outcome = 'running';
CREATE INDEX runs_occurrence ON runs (job_id, scheduled_for);

-- One occurrence, one run: a scheduled run may not start for an occurrence that already has one running
-- or succeeded. A trigger rather than a unique index, so databases that already hold such a pair open.
CREATE TRIGGER runs_one_per_occurrence BEFORE INSERT ON runs
    WHEN NEW.trigger = 'schedule' AND NEW.scheduled_for IS NOT NULL AND NEW.outcome IN ('running', 'succeeded')
BEGIN
    SELECT RAISE(ABORT, 'occurrence already run')
    WHERE EXISTS (SELECT 1 FROM runs
                  WHERE job_id = NEW.job_id AND scheduled_for = NEW.scheduled_for AND trigger = 'schedule'
                    AND outcome IN ('running', 'succeeded'));
END;

-- The webhook outbox: written in the transaction that ends the run, posted after it, retried with backoff
-- until delivered or given up. next_attempt_at doubles as the claim: a deliverer pushes it past the post.
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    job_id TEXT,
    run_id TEXT,
    url TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_failed ON deliveries (user_id) WHERE state = 'failed';

-- A run asked for by a process that does not run jobs, for the one that does to start.
ALTER TABLE jobs ADD COLUMN run_requested_at TEXT;
CREATE INDEX jobs_run_requested ON jobs (run_requested_at) WHERE run_requested_at IS NOT NULL;

-- Processes serving this database, so a request can say whether anything will run it.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    runs_jobs INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
