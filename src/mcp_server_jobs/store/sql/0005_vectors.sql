-- Semantic retrieval: one embedding per job, with the id of the model that made it. A vector of
-- another model counts as missing, so changing the model re-embeds (the server back-fills).
CREATE TABLE job_vectors (
    job_pk INTEGER PRIMARY KEY REFERENCES jobs(pk) ON DELETE CASCADE,
    model  TEXT NOT NULL,
    vector BLOB NOT NULL  -- float32, little-endian, unit length
);

-- job_changes.seq orders every change a search index cares about (owner, status, type, vector) in
-- commit order: writers hold SQLite's one write lock, so max + 1 never repeats. A process keeps
-- its in-memory vector index current by reading the rows past the last seq it saw. A narrow table
-- of its own, so that a status change does not rewrite the job's (wide) row a second time.
CREATE TABLE job_changes (
    job_pk INTEGER PRIMARY KEY REFERENCES jobs(pk) ON DELETE CASCADE,
    seq    INTEGER NOT NULL
);
CREATE INDEX job_changes_seq ON job_changes (seq);
INSERT INTO job_changes (job_pk, seq) SELECT pk, pk FROM jobs;

CREATE TRIGGER jobs_changed_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO job_changes (job_pk, seq) VALUES (NEW.pk, (SELECT coalesce(max(seq), 0) + 1 FROM job_changes))
    ON CONFLICT (job_pk) DO UPDATE SET seq = excluded.seq;
END;

CREATE TRIGGER jobs_changed_update AFTER UPDATE OF user_id, status, job_type ON jobs
WHEN OLD.user_id IS NOT NEW.user_id OR OLD.status IS NOT NEW.status OR OLD.job_type IS NOT NEW.job_type
BEGIN
    UPDATE job_changes SET seq = (SELECT max(seq) FROM job_changes) + 1 WHERE job_pk = NEW.pk;
END;

CREATE TRIGGER job_vectors_changed_insert AFTER INSERT ON job_vectors BEGIN
    UPDATE job_changes SET seq = (SELECT max(seq) FROM job_changes) + 1 WHERE job_pk = NEW.job_pk;
END;

CREATE TRIGGER job_vectors_changed_update AFTER UPDATE ON job_vectors BEGIN
    UPDATE job_changes SET seq = (SELECT max(seq) FROM job_changes) + 1 WHERE job_pk = NEW.job_pk;
END;

CREATE TRIGGER job_vectors_changed_delete AFTER DELETE ON job_vectors BEGIN
    UPDATE job_changes SET seq = (SELECT max(seq) FROM job_changes) + 1 WHERE job_pk = OLD.job_pk;
END;
