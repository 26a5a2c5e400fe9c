"""Every SQL statement of the SQLite store, by name (SQLite dialect: json_each, FTS5, bm25), and the
words a full-text search looks for.

The statements in standard SQL serve the PostgreSQL store too (`store.postgres.queries` imports them),
so a column added here is added there in the same change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import StrEnum

from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.lifecycle import IN_THE_WAY, LIVE, STUCK, WAITING
from mcp_server_jobs.models import DeliveryState, JobStatus, RunOutcome

MAX_QUERY_TERMS = 32
_WORD = re.compile(r"\w+")


def search_words(text: str) -> list[str]:
    """The words of `text` a search looks for: runs of letters, digits and underscores."""
    return _WORD.findall(text)


def query_words(terms: Sequence[str]) -> list[str]:
    """The words a full-text query of `terms` looks for (at most MAX_QUERY_TERMS); InvalidInput if none."""
    words = [word for term in terms for word in search_words(term)][:MAX_QUERY_TERMS]
    if not words:
        raise InvalidInput("keywords contain no words to search for; give one or more plain words")
    return words


def fts_query(terms: Sequence[str], match_all: bool) -> str:
    """An FTS5 query that treats every term as a plain word: each is quoted, none is syntax."""
    return (" AND " if match_all else " OR ").join(f'"{w}"' for w in query_words(terms))


def literal(value: StrEnum) -> str:
    """An enum value as an SQL string literal: written into the text, not bound, so that the partial
    indexes (`WHERE status = 'ACTIVE'`, `outcome = 'running'`, `state = 'pending'`) still apply."""
    assert "'" not in value.value
    return f"'{value.value}'"


def literals(values: Iterable[StrEnum]) -> str:
    """A set of enum values as the inside of an SQL `IN (...)` list."""
    return ", ".join(literal(value) for value in sorted(values))


SQL_LIVE = literals(LIVE)
SQL_IN_THE_WAY = literals(IN_THE_WAY)
SQL_WAITING = literals(WAITING)
SQL_ACTIVE = literal(JobStatus.ACTIVE)
SQL_IN_PROGRESS = literal(JobStatus.IN_PROGRESS)
SQL_PENDING = literal(JobStatus.PENDING)
SQL_BLOCKED = literal(JobStatus.BLOCKED)
SQL_COMPLETED = literal(JobStatus.COMPLETED)
SQL_ARCHIVED = literal(JobStatus.ARCHIVED)
SQL_RUNNING = literal(RunOutcome.RUNNING)
SQL_SUCCEEDED = literal(RunOutcome.SUCCEEDED)
SQL_UNSENT = literal(DeliveryState.PENDING)

# The columns of a job's own row that `row_to_job` reads (both dialects select them so).
JOB_FIELDS = """
    jobs.id, jobs.user_id, jobs.title, jobs.description, jobs.job_type, jobs.schedule,
    jobs.end_condition, jobs.related_entities, jobs.notify, jobs.metadata, jobs.dedup_key,
    jobs.status, jobs.status_reason, jobs.next_run_at, jobs.last_run_at, jobs.run_count,
    jobs.consecutive_failures, jobs.pause_requested, jobs.occurrence_at, jobs.attempt, jobs.version,
    jobs.created_at, jobs.updated_at, jobs.limits, jobs.run_requested_at"""

# A job's columns with its dependencies, gathered in position order.
JOB_COLUMNS = f"""{JOB_FIELDS},
    (SELECT json_group_array(depends_on)
       FROM (SELECT depends_on FROM job_dependencies d WHERE d.job_id = jobs.id ORDER BY d.position)
    ) AS depends_on
"""

# Filters shared by listings and searches; :statuses and :job_types are JSON arrays ('[]' = any).
JOB_FILTER = f"""
    jobs.user_id = :user_id
    AND (:statuses = '[]' OR jobs.status IN (SELECT value FROM json_each(:statuses)))
    AND (:job_types = '[]' OR jobs.job_type IN (SELECT value FROM json_each(:job_types)))
    AND (:include_archived OR jobs.status != {SQL_ARCHIVED})
"""

INSERT_JOB = """
INSERT INTO jobs (id, user_id, title, description, job_type, schedule, end_condition, related_entities,
                  notify, metadata, dedup_key, status, status_reason, next_run_at, created_at, updated_at, limits)
VALUES (:id, :user_id, :title, :description, :job_type, :schedule, :end_condition, :related_entities,
        :notify, :metadata, :dedup_key, :status, :status_reason, :next_run_at, :created_at, :created_at, :limits)
"""

INSERT_DEPENDENCY = """
INSERT INTO job_dependencies (job_id, depends_on, position) VALUES (:job_id, :depends_on, :position)
"""

DELETE_DEPENDENCIES = "DELETE FROM job_dependencies WHERE job_id = :job_id"

SELECT_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.id = :id AND jobs.user_id = :user_id"

# Reads of the rows a write transaction goes on to change (see store.statements): BEGIN IMMEDIATE holds
# SQLite's one write lock already, so they are plain reads here.
LOCK_JOB = SELECT_JOB

SELECT_LIVE_BY_DEDUP_KEY = f"""
SELECT {JOB_COLUMNS} FROM jobs
WHERE jobs.user_id = :user_id AND jobs.dedup_key = :dedup_key
  AND jobs.status IN ({SQL_LIVE})
"""

COUNT_LIVE_JOBS = f"SELECT count(*) FROM jobs WHERE user_id = :user_id AND status IN ({SQL_LIVE})"

# The unary + keeps the planner off the (user_id, ...) index: one user may own every row.
SELECT_JOBS_BY_IDS = f"""
SELECT {JOB_COLUMNS} FROM jobs
WHERE +jobs.user_id = :user_id AND jobs.id IN (SELECT value FROM json_each(:ids))
"""

LIST_JOBS = f"""
SELECT {JOB_COLUMNS} FROM jobs WHERE {JOB_FILTER}
ORDER BY jobs.created_at DESC, jobs.pk DESC LIMIT :limit
"""

# Title matches weigh most, then entities; snippet column -1 picks the best-matching column.
SEARCH_JOBS = f"""
SELECT {JOB_COLUMNS},
       snippet(jobs_fts, -1, '**', '**', '…', 16) AS snippet,
       bm25(jobs_fts, 10.0, 2.0, 2.0, 4.0) AS rank
FROM jobs_fts JOIN jobs ON jobs.pk = jobs_fts.rowid
WHERE jobs_fts MATCH :query AND {JOB_FILTER}
ORDER BY rank LIMIT :limit
"""

# Written only while the job's text is still the text that was embedded (a back-fill can race an edit).
PUT_VECTOR = """
INSERT INTO job_vectors (job_pk, model, vector)
SELECT pk, :model, :vector FROM jobs
WHERE id = :id AND title = :title AND description = :description AND end_condition IS :end_condition
  AND related_entities = :related_entities
ON CONFLICT (job_pk) DO UPDATE SET model = excluded.model, vector = excluded.vector
"""

DELETE_VECTOR = "DELETE FROM job_vectors WHERE job_pk = (SELECT pk FROM jobs WHERE id = :id)"

SELECT_WITHOUT_VECTORS = f"""
SELECT {JOB_COLUMNS} FROM jobs LEFT JOIN job_vectors v ON v.job_pk = jobs.pk
WHERE v.model IS NOT :model ORDER BY jobs.pk LIMIT :limit
"""

COUNT_JOBS = "SELECT count(*) AS n FROM jobs"

# What an in-memory vector index needs of the jobs changed since it last looked.
SELECT_INDEX_CHANGES = """
SELECT jobs.pk, jobs.id, jobs.user_id, jobs.status, jobs.job_type, c.seq,
       CASE WHEN v.model = :model THEN v.vector END AS vector
FROM job_changes c JOIN jobs ON jobs.pk = c.job_pk LEFT JOIN job_vectors v ON v.job_pk = c.job_pk
WHERE c.seq > :since ORDER BY c.seq LIMIT :limit
"""

COUNT_MATCHES = "SELECT count(*) FROM jobs_fts WHERE jobs_fts MATCH :query"

LOCK_STATUS_VERSION = "SELECT status, version FROM jobs WHERE id = :id AND user_id = :user_id"

DEPENDENCY_CLOSURE = """
WITH RECURSIVE closure(id) AS (
    SELECT depends_on FROM job_dependencies WHERE job_id IN (SELECT value FROM json_each(:ids))
    UNION
    SELECT d.depends_on FROM job_dependencies d JOIN closure ON d.job_id = closure.id
)
SELECT id FROM closure
"""

SELECT_DEPENDENTS = f"""
SELECT {JOB_COLUMNS} FROM jobs JOIN job_dependencies dep ON dep.job_id = jobs.id
WHERE dep.depends_on = :job_id ORDER BY jobs.pk
"""

RUN_COLUMNS = """
    runs.id, runs.job_id, runs.trigger, runs.scheduled_for, runs.started_at, runs.finished_at, runs.attempt,
    runs.outcome, runs.output, runs.summary, runs.verdict, runs.error, runs.backend, runs.usage,
    runs.lease_owner, runs.lease_until, runs.delivery_error, runs.note, runs.agent_pid
"""

LIST_RUNS = f"SELECT {RUN_COLUMNS} FROM runs WHERE job_id = :job_id ORDER BY seq DESC LIMIT :limit"

LOCK_RUN = f"SELECT {RUN_COLUMNS} FROM runs WHERE id = :id"

INSERT_RUN = """
INSERT INTO runs (id, job_id, trigger, scheduled_for, started_at, finished_at, attempt, outcome, output, summary,
                  verdict, error, backend, usage, lease_owner, lease_until, note)
VALUES (:id, :job_id, :trigger, :scheduled_for, :started_at, :finished_at, :attempt, :outcome, :output, :summary,
        :verdict, :error, :backend, :usage, :lease_owner, :lease_until, :note)
"""

FINISH_RUN = """
UPDATE runs SET finished_at = :finished_at, outcome = :outcome, output = :output, summary = :summary,
                verdict = :verdict, error = :error, backend = :backend, usage = :usage, lease_until = NULL,
                note = :note
WHERE id = :id
"""

DELIVERY_COLUMNS = """
    message_id, user_id, job_id, run_id, url, payload, state, attempts, next_attempt_at, last_error, delivered_at,
    created_at
"""

INSERT_DELIVERY = f"""
INSERT INTO deliveries (message_id, user_id, job_id, run_id, url, payload, state, next_attempt_at, created_at)
VALUES (:message_id, :user_id, :job_id, :run_id, :url, :payload, {SQL_UNSENT}, :next_attempt_at, :created_at)
"""

CLAIM_DELIVERIES = f"""
UPDATE deliveries SET next_attempt_at = :until, attempts = attempts + 1
WHERE seq IN (SELECT seq FROM deliveries WHERE state = {SQL_UNSENT} AND next_attempt_at <= :now
              ORDER BY next_attempt_at LIMIT :limit)
RETURNING {DELIVERY_COLUMNS}
"""

SETTLE_DELIVERY = f"""
UPDATE deliveries SET state = :state, next_attempt_at = :retry_at, last_error = :error, delivered_at = :delivered_at
WHERE message_id = :message_id AND state = {SQL_UNSENT}
RETURNING run_id
"""

RECORD_DELIVERY_ERROR = "UPDATE runs SET delivery_error = :error WHERE id = :id"

RECORD_AGENT_PID = f"UPDATE runs SET agent_pid = :pid WHERE id = :id AND outcome = {SQL_RUNNING}"

SELECT_JOB_BY_ID = f"SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.id = :id"
LOCK_JOB_BY_ID = SELECT_JOB_BY_ID

SELECT_DUE = f"""
SELECT {JOB_COLUMNS} FROM jobs
WHERE jobs.status = {SQL_ACTIVE} AND jobs.next_run_at <= :now
ORDER BY jobs.next_run_at LIMIT :limit
"""

EARLIEST_DUE = f"SELECT min(next_run_at) FROM jobs WHERE status = {SQL_ACTIVE}"

RENEW_LEASES = f"""
UPDATE runs SET lease_until = :until
WHERE id IN (SELECT value FROM json_each(:ids)) AND outcome = {SQL_RUNNING} AND lease_owner = :owner
  AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = runs.job_id AND jobs.status = {SQL_IN_PROGRESS})
RETURNING id
"""

SELECT_EXPIRED_RUNS = f"""
SELECT {RUN_COLUMNS} FROM runs WHERE outcome = {SQL_RUNNING} AND lease_until < :now ORDER BY seq LIMIT :limit
"""

# Waiting jobs whose dependencies say otherwise: PENDING with every dependency COMPLETED or one in the
# way; BLOCKED with none in the way any more. (Standard SQL: the PostgreSQL store uses it too.)
WAITING_TO_SETTLE = f"""
jobs.status IN ({SQL_WAITING}) AND (
    (jobs.status = {SQL_PENDING} AND (
        NOT EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs dep ON dep.id = d.depends_on
                    WHERE d.job_id = jobs.id AND dep.status != {SQL_COMPLETED})
        OR EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs dep ON dep.id = d.depends_on
                   WHERE d.job_id = jobs.id AND dep.status IN ({SQL_IN_THE_WAY}))))
    OR (jobs.status = {SQL_BLOCKED} AND EXISTS (SELECT 1 FROM job_dependencies d WHERE d.job_id = jobs.id)
        AND NOT EXISTS (SELECT 1 FROM job_dependencies d JOIN jobs dep ON dep.id = d.depends_on
                        WHERE d.job_id = jobs.id AND dep.status IN ({SQL_IN_THE_WAY}))))
"""

SELECT_WAITING_TO_SETTLE = f"SELECT {JOB_COLUMNS} FROM jobs WHERE {WAITING_TO_SETTLE} LIMIT :limit"

# The newest successful output of each job (the context a dependent job receives).
LATEST_OUTPUTS = f"""
SELECT r.job_id, r.output FROM runs r
WHERE r.job_id IN (SELECT value FROM json_each(:ids)) AND r.outcome = {SQL_SUCCEEDED}
  AND r.seq = (SELECT max(seq) FROM runs r2 WHERE r2.job_id = r.job_id AND r2.outcome = {SQL_SUCCEEDED})
"""

INSERT_MESSAGE = """
INSERT INTO inbox (id, user_id, job_id, run_id, title, body, created_at, read_at)
VALUES (:id, :user_id, :job_id, :run_id, :title, :body, :created_at, :read_at)
"""

# Beyond `keep` messages a user's oldest go: read ones first, unread ones only when there are more than `keep`.
TRIM_INBOX = """
DELETE FROM inbox WHERE id IN (
    SELECT id FROM inbox WHERE user_id = :user_id
    ORDER BY (read_at IS NULL) DESC, seq DESC LIMIT -1 OFFSET :keep
)
"""

LIST_MESSAGES = """
SELECT inbox.id, inbox.user_id, inbox.job_id, inbox.run_id, inbox.title, inbox.body, inbox.created_at,
       inbox.read_at, d.state AS delivery, d.last_error AS delivery_error
FROM inbox LEFT JOIN deliveries d ON d.message_id = inbox.id
WHERE inbox.user_id = :user_id AND (NOT :unread_only OR inbox.read_at IS NULL)
ORDER BY inbox.seq DESC LIMIT :limit
"""

COUNT_UNREAD = "SELECT count(*) FROM inbox WHERE user_id = :user_id AND read_at IS NULL"

SELECT_OWN_MESSAGE_IDS = """
SELECT id FROM inbox WHERE user_id = :user_id AND id IN (SELECT value FROM json_each(:ids))
"""

MARK_READ = """
UPDATE inbox SET read_at = :now
WHERE user_id = :user_id AND read_at IS NULL
  AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
"""

SELECT_DEFINED_JOBS = "SELECT name, user_id, job_id, digest FROM defined_jobs ORDER BY name"

PUT_DEFINED_JOB = """
INSERT INTO defined_jobs (name, user_id, job_id, digest) VALUES (:name, :user_id, :job_id, :digest)
ON CONFLICT (name) DO UPDATE SET user_id = excluded.user_id, job_id = excluded.job_id, digest = excluded.digest
"""

DROP_DEFINED_JOB = "DELETE FROM defined_jobs WHERE name = :name"

REQUESTED_RUNS = f"""
SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.run_requested_at IS NOT NULL ORDER BY jobs.run_requested_at LIMIT :limit
"""

CLEAR_RUN_REQUEST = "UPDATE jobs SET run_requested_at = NULL WHERE id = :id"

HEARTBEAT = """
INSERT INTO workers (id, pid, host, runs_jobs, started_at, seen_at)
VALUES (:id, :pid, :host, :runs_jobs, :started_at, :seen_at)
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, runs_jobs = excluded.runs_jobs
"""

DROP_WORKER = "DELETE FROM workers WHERE id = :id"

LIVE_WORKERS = """
SELECT id, pid, host, runs_jobs, started_at, seen_at FROM workers WHERE seen_at >= :since ORDER BY started_at
"""

# Workers not seen for a day are gone for good: the table stays small.
FORGET_WORKERS = "DELETE FROM workers WHERE seen_at < :before"

RUN_TOTALS = "SELECT outcome, count(*) AS n FROM runs WHERE job_id = :job_id GROUP BY outcome"

# What `doctor` lists, read from a database it opens read-only (it may be another process's).
DOCTOR_STUCK_JOBS = f"""
SELECT id, user_id, status, title, coalesce(status_reason, '') FROM jobs
WHERE status IN ({literals(STUCK)})
   OR (status = {SQL_ACTIVE} AND status_reason LIKE ?)
ORDER BY updated_at DESC LIMIT ?"""
DOCTOR_FAILED_DELIVERIES = f"""
SELECT message_id, job_id, coalesce(last_error, '') FROM deliveries WHERE state = {literal(DeliveryState.FAILED)}
ORDER BY seq DESC LIMIT ?"""
