-- Semantic retrieval: one embedding per job, with the id of the model that made it. A vector of
-- another model counts as missing, so changing the model re-embeds (the server back-fills).
CREATE TABLE job_vectors (
    job_pk INTEGER PRIMARY KEY REFERENCES jobs(pk) ON DELETE CASCADE,
    model  TEXT NOT NULL,
    vector BLOB NOT NULL  -- float32, little-endian, unit length
);

-- change_seq orders every change a search index cares about (owner, status, type, vector) in
-- commit order: writers hold SQLite's one write lock, so max + 1 never repeats. A process keeps
-- its in-memory vector index current by reading the rows past the last change_seq it saw.
ALTER TABLE jobs ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET change_seq = pk;
CREATE INDEX jobs_change_seq ON jobs(change_seq);

CREATE TRIGGER jobs_seq_insert AFTER INSERT ON jobs BEGIN
    UPDATE jobs SET change_seq = (SELECT max(change_seq) FROM jobs) + 1 WHERE pk = NEW.pk;
END;

CREATE TRIGGER jobs_seq_update AFTER UPDATE OF user_id, status, job_type ON jobs
WHEN OLD.user_id IS NOT NEW.user_id OR OLD.status IS NOT NEW.status OR OLD.job_type IS NOT NEW.job_type
BEGIN
    UPDATE jobs SET change_seq = (SELECT max(change_seq) FROM jobs) + 1 WHERE pk = NEW.pk;
END;

CREATE TRIGGER job_vectors_seq_insert AFTER INSERT ON job_vectors BEGIN
    UPDATE jobs SET change_seq = (SELECT max(change_seq) FROM jobs) + 1 WHERE pk = NEW.job_pk;
END;

CREATE TRIGGER job_vectors_seq_update AFTER UPDATE ON job_vectors BEGIN
    UPDATE jobs SET change_seq = (SELECT max(change_seq) FROM jobs) + 1 WHERE pk = NEW.job_pk;
END;

CREATE TRIGGER job_vectors_seq_delete AFTER DELETE ON job_vectors BEGIN
    UPDATE jobs SET change_seq = (SELECT max(change_seq) FROM jobs) + 1 WHERE pk = OLD.job_pk;
END;
