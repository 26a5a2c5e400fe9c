-- Jobs, their dependencies, runs, the inbox, and a full-text index over jobs.
-- Instants are TEXT in fixed-width UTC ISO 8601 ('2026-11-22T09:00:00.000000Z'), so they sort as text.

CREATE TABLE jobs (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    job_type TEXT NOT NULL CHECK (job_type IN ('ONE_OFF', 'SCHEDULED', 'RECURRING', 'ONGOING')),
    schedule TEXT NOT NULL CHECK (json_valid(schedule)),
    end_condition TEXT,
    related_entities TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(related_entities)),
    notify TEXT NOT NULL CHECK (notify IN ('auto', 'always', 'on_completion', 'never')),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    dedup_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'IN_PROGRESS', 'PAUSED', 'BLOCKED',
                                           'COMPLETED', 'FAILED', 'CANCELLED', 'ARCHIVED')),
    status_reason TEXT,
    next_run_at TEXT,
    last_run_at TEXT,
    run_count INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    pause_requested INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX jobs_user_status ON jobs (user_id, status, created_at);
CREATE INDEX jobs_due ON jobs (next_run_at) WHERE status = 'ACTIVE';
-- One live job per (user, dedup_key): a concurrent second create hits this and returns the first.
CREATE UNIQUE INDEX jobs_dedup ON jobs (user_id, dedup_key)
    WHERE dedup_key IS NOT NULL AND status IN ('PENDING', 'ACTIVE', 'IN_PROGRESS', 'PAUSED', 'BLOCKED');

CREATE TABLE job_dependencies (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    depends_on TEXT NOT NULL REFERENCES jobs (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (job_id, depends_on)
);
CREATE INDEX job_dependencies_reverse ON job_dependencies (depends_on);

CREATE TABLE runs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    scheduled_for TEXT,
    started_at TEXT,
    finished_at TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted', 'missed', 'skipped')),
    output TEXT,
    summary TEXT,
    verdict TEXT CHECK (verdict IS NULL OR json_valid(verdict)),
    error TEXT,
    backend TEXT,
    usage TEXT CHECK (usage IS NULL OR json_valid(usage)),
    lease_owner TEXT,
    lease_until TEXT
);
CREATE INDEX runs_job ON runs (job_id, seq);

CREATE TABLE inbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    job_id TEXT REFERENCES jobs (id) ON DELETE SET NULL,
    run_id TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX inbox_user ON inbox (user_id, read_at, seq);

CREATE VIRTUAL TABLE jobs_fts USING fts5 (
    title, description, end_condition, entities, tokenize = 'porter unicode61'
);

CREATE TRIGGER jobs_fts_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO jobs_fts (rowid, title, description, end_condition, entities)
    VALUES (NEW.pk, NEW.title, NEW.description, coalesce(NEW.end_condition, ''),
            (SELECT coalesce(group_concat(coalesce(value ->> '$.name', '') || ' ' || coalesce(value ->> '$.kind', '')
                                           || ' ' || coalesce(value ->> '$.details', ''), ' '), '')
             FROM json_each(NEW.related_entities)));
END;

CREATE TRIGGER jobs_fts_update AFTER UPDATE OF title, description, end_condition, related_entities ON jobs BEGIN
    DELETE FROM jobs_fts WHERE rowid = OLD.pk;
    INSERT INTO jobs_fts (rowid, title, description, end_condition, entities)
    VALUES (NEW.pk, NEW.title, NEW.description, coalesce(NEW.end_condition, ''),
            (SELECT coalesce(group_concat(coalesce(value ->> '$.name', '') || ' ' || coalesce(value ->> '$.kind', '')
                                           || ' ' || coalesce(value ->> '$.details', ''), ' '), '')
             FROM json_each(NEW.related_entities)));
END;

CREATE TRIGGER jobs_fts_delete AFTER DELETE ON jobs BEGIN
    DELETE FROM jobs_fts WHERE rowid = OLD.pk;
END;
