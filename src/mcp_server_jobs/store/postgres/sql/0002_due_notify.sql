-- Every process LISTENs on mcp_jobs_due: a job created or changed by one process (a new due time, a new
-- status) wakes the others at its commit, instead of at their next sweep. One notice per statement;
-- PostgreSQL folds the same notice sent twice in one transaction into one.
CREATE FUNCTION notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mcp_jobs_due', '');
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_due_notify AFTER INSERT OR UPDATE OF next_run_at, status ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_due();
