-- The jobs of a --jobs-file, by their name there: the job made from the definition and a digest of the
-- definition, so a restart can tell new, changed and removed definitions from unchanged ones.
CREATE TABLE defined_jobs (
    name TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    digest TEXT NOT NULL
);
