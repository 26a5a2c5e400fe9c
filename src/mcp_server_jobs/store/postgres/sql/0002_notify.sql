-- Processes on one database hear of each other's writes at their commit, instead of at their next sweep.
-- mcp_jobs_due: a job created or changed (a new due time, a new status), one notice per statement
-- (PostgreSQL folds the same notice sent twice in one transaction into one).
-- mcp_jobs_inbox: a message for a user (the payload), for the clients connected to any process.
CREATE FUNCTION notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mcp_jobs_due', '');
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_due_notify AFTER INSERT OR UPDATE OF next_run_at, status ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION notify_due();

CREATE FUNCTION notify_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mcp_jobs_inbox', NEW.user_id);
    RETURN NULL;
END $$;

CREATE TRIGGER inbox_notify AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION notify_inbox();
