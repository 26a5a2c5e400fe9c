"""Every SQL statement of the PostgreSQL store, by name (see store.statements): those in standard SQL are
SQLite's own, the rest are written here in PostgreSQL's dialect (jsonb, tsvector, row locks).

Statements take `:name` parameters like SQLite's; the connection rewrites them for psycopg. JSON arrays
of ids and statuses arrive as text, as SQLite takes them, and are read with `jsonb_array_elements_text`.
Rows a transaction goes on to change are locked FOR NO KEY UPDATE (what an UPDATE itself takes, so rows
that only reference the job, such as a new run, are not held up); claims skip rows locked by another.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcp_server_jobs.store import queries as sqlite
from mcp_server_jobs.store.queries import (
    DELIVERY_COLUMNS,
    JOB_FIELDS,
    RUN_COLUMNS,
    SQL_ACTIVE,
    SQL_ARCHIVED,
    SQL_IN_PROGRESS,
    SQL_LIVE,
    SQL_RUNNING,
    SQL_SUCCEEDED,
    SQL_UNSENT,
    WAITING_TO_SETTLE,
    query_words,
)

# Standard SQL: SQLite's own statements.
INSERT_JOB = sqlite.INSERT_JOB
INSERT_DEPENDENCY = sqlite.INSERT_DEPENDENCY
DELETE_DEPENDENCIES = sqlite.DELETE_DEPENDENCIES
COUNT_LIVE_JOBS = sqlite.COUNT_LIVE_JOBS
DELETE_VECTOR = sqlite.DELETE_VECTOR
COUNT_JOBS = sqlite.COUNT_JOBS
SELECT_INDEX_CHANGES = sqlite.SELECT_INDEX_CHANGES
EARLIEST_DUE = sqlite.EARLIEST_DUE
CLEAR_RUN_REQUEST = sqlite.CLEAR_RUN_REQUEST
LIST_RUNS = sqlite.LIST_RUNS
INSERT_RUN = sqlite.INSERT_RUN
FINISH_RUN = sqlite.FINISH_RUN
RECORD_AGENT_PID = sqlite.RECORD_AGENT_PID
RUN_TOTALS = sqlite.RUN_TOTALS
INSERT_DELIVERY = sqlite.INSERT_DELIVERY
SETTLE_DELIVERY = sqlite.SETTLE_DELIVERY
RECORD_DELIVERY_ERROR = sqlite.RECORD_DELIVERY_ERROR
INSERT_MESSAGE = sqlite.INSERT_MESSAGE
LIST_MESSAGES = sqlite.LIST_MESSAGES
COUNT_UNREAD = sqlite.COUNT_UNREAD
SELECT_DEFINED_JOBS = sqlite.SELECT_DEFINED_JOBS
PUT_DEFINED_JOB = sqlite.PUT_DEFINED_JOB
DROP_DEFINED_JOB = sqlite.DROP_DEFINED_JOB
HEARTBEAT = sqlite.HEARTBEAT
DROP_WORKER = sqlite.DROP_WORKER
LIVE_WORKERS = sqlite.LIVE_WORKERS
FORGET_WORKERS = sqlite.FORGET_WORKERS

# The text search configuration of migration 0001 (English stems, no stop words dropped).
CONFIG = "'jobs_english'"


def fts_query(terms: Sequence[str], match_all: bool) -> str:
    """A `to_tsquery` text that treats every term as a plain word: each is quoted, none is syntax."""
    # Words are runs of \w, so no quote or backslash can end a quoted lexeme early.
    return (" & " if match_all else " | ").join(f"'{w}'" for w in query_words(terms))


# A job's columns with its dependencies, gathered in position order.
JOB_COLUMNS = f"""{JOB_FIELDS},
    (SELECT coalesce(jsonb_agg(d.depends_on ORDER BY d.position), '[]')
       FROM job_dependencies d WHERE d.job_id = jobs.id) AS depends_on
"""


def _ids(param: str) -> str:
    """The ids in a JSON array parameter, as a subquery for `IN`."""
    return f"(SELECT jsonb_array_elements_text(:{param}::jsonb))"


# Filters shared by listings and searches; :statuses and :job_types are JSON arrays ('[]' = any).
JOB_FILTER = f"""
    jobs.user_id = :user_id
    AND (:statuses::jsonb = '[]' OR jobs.status IN {_ids("statuses")})
    AND (:job_types::jsonb = '[]' OR jobs.job_type IN {_ids("job_types")})
    AND (:include_archived OR jobs.status != {SQL_ARCHIVED})
"""

SELECT_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.id = :id AND jobs.user_id = :user_id"
LOCK_JOB = f"{SELECT_JOB} FOR NO KEY UPDATE OF jobs"
SELECT_JOB_BY_ID = f"SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.id = :id"
LOCK_JOB_BY_ID = f"{SELECT_JOB_BY_ID} FOR NO KEY UPDATE OF jobs"
LOCK_STATUS_VERSION = "SELECT status, version FROM jobs WHERE id = :id AND user_id = :user_id FOR NO KEY UPDATE"

SELECT_LIVE_BY_DEDUP_KEY = f"""
SELECT {JOB_COLUMNS} FROM jobs
WHERE jobs.user_id = :user_id AND jobs.dedup_key = :dedup_key
  AND jobs.status IN ({SQL_LIVE})
"""

SELECT_JOBS_BY_IDS = f"SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.user_id = :user_id AND jobs.id IN {_ids('ids')}"

LIST_JOBS = f"""
SELECT {JOB_COLUMNS} FROM jobs WHERE {JOB_FILTER}
ORDER BY jobs.created_at DESC, jobs.pk DESC LIMIT :limit
"""

# Ranked as bm25 ranks (lower is better): each query word's ts_rank with the column weights ({D, C, B,
# A}: description and end condition 0.2, entities 0.4, title 1) over the job's length, times the word's
# inverse document frequency over all jobs; plain ts_rank, which has no IDF, found 0.30 of the evaluation
# set's targets in the top 3 where bm25 finds 0.37. The snippet is ts_headline's excerpt of the
# best-matching column, with '…' where it cuts the column's text, as SQLite's snippet() writes it.
SEARCH_JOBS = f"""
WITH query AS MATERIALIZED (SELECT to_tsquery({CONFIG}, :query) AS q),
words AS MATERIALIZED (
    SELECT word.q, ln(1 + (total.n - found.n + 0.5) / (found.n + 0.5)) AS idf
    FROM (SELECT quote_literal(lexeme)::tsquery AS q FROM unnest(to_tsvector({CONFIG}, :query))) AS word,
         LATERAL (SELECT count(*) AS n FROM jobs WHERE jobs.search @@ word.q) AS found,
         (SELECT count(*)::float8 AS n FROM jobs) AS total
),
ranked AS (
    SELECT jobs.pk, (SELECT -sum(ts_rank('{{0.2, 0.2, 0.4, 1.0}}', jobs.search, words.q, 2) * words.idf)
                     FROM words) AS rank
    FROM jobs, query WHERE jobs.search @@ query.q AND {JOB_FILTER}
    ORDER BY rank, jobs.pk LIMIT :limit
)
SELECT {JOB_COLUMNS}, ranked.rank,
       CASE WHEN starts_with(best.body, best.plain) THEN '' ELSE '…' END || best.headline
       || CASE WHEN right(best.body, length(best.plain)) = best.plain THEN '' ELSE '…' END AS snippet
FROM ranked JOIN jobs ON jobs.pk = ranked.pk
CROSS JOIN LATERAL (
    SELECT column_text.body, headline.text AS headline, replace(headline.text, '**', '') AS plain
    FROM query,
         (VALUES (1, jobs.title), (2, job_entities_text(jobs.related_entities)), (3, jobs.description),
                 (4, coalesce(jobs.end_condition, ''))) AS column_text (weight, body),
         ts_headline({CONFIG}, column_text.body, query.q,
                     'StartSel=**, StopSel=**, MaxWords=16, MinWords=8, ShortWord=0') AS headline (text)
    ORDER BY ts_rank(to_tsvector({CONFIG}, column_text.body), query.q) DESC, column_text.weight LIMIT 1
) AS best
ORDER BY ranked.rank, jobs.pk
"""

COUNT_MATCHES = f"SELECT count(*) FROM jobs WHERE search @@ to_tsquery({CONFIG}, :query)"

# Written only while the job's text is still the text that was embedded (a back-fill can race an edit):
# FOR SHARE makes an edit being written wait, or this wait for it and then find the text changed.
PUT_VECTOR = """
INSERT INTO job_vectors (job_pk, model, vector)
SELECT pk, :model, :vector FROM jobs
WHERE id = :id AND title = :title AND description = :description
  AND end_condition IS NOT DISTINCT FROM :end_condition AND related_entities = :related_entities::jsonb
FOR SHARE
ON CONFLICT (job_pk) DO UPDATE SET model = excluded.model, vector = excluded.vector
"""

SELECT_WITHOUT_VECTORS = f"""
SELECT {JOB_COLUMNS} FROM jobs LEFT JOIN job_vectors v ON v.job_pk = jobs.pk
WHERE v.model IS DISTINCT FROM :model ORDER BY jobs.pk LIMIT :limit
"""

DEPENDENCY_CLOSURE = f"""
WITH RECURSIVE closure(id) AS (
    SELECT depends_on FROM job_dependencies WHERE job_id IN {_ids("ids")}
    UNION
    SELECT d.depends_on FROM job_dependencies d JOIN closure ON d.job_id = closure.id
)
SELECT id FROM closure
"""

SELECT_DEPENDENTS = f"""
SELECT {JOB_COLUMNS} FROM jobs JOIN job_dependencies dep ON dep.job_id = jobs.id
WHERE dep.depends_on = :job_id ORDER BY jobs.pk
"""

LOCK_RUN = f"SELECT {RUN_COLUMNS} FROM runs WHERE id = :id FOR NO KEY UPDATE"

CLAIM_DELIVERIES = f"""
UPDATE deliveries SET next_attempt_at = :until, attempts = attempts + 1
WHERE seq IN (SELECT seq FROM deliveries WHERE state = {SQL_UNSENT} AND next_attempt_at <= :now
              ORDER BY next_attempt_at LIMIT :limit FOR NO KEY UPDATE SKIP LOCKED)
RETURNING {DELIVERY_COLUMNS}
"""

SELECT_DUE = f"""
SELECT {JOB_COLUMNS} FROM jobs
WHERE jobs.status = {SQL_ACTIVE} AND jobs.next_run_at <= :now
ORDER BY jobs.next_run_at LIMIT :limit
FOR NO KEY UPDATE OF jobs SKIP LOCKED
"""

RENEW_LEASES = f"""
UPDATE runs SET lease_until = :until
WHERE id IN {_ids("ids")} AND outcome = {SQL_RUNNING} AND lease_owner = :owner
  AND EXISTS (SELECT 1 FROM jobs WHERE jobs.id = runs.job_id AND jobs.status = {SQL_IN_PROGRESS})
RETURNING id
"""

SELECT_EXPIRED_RUNS = f"""
SELECT {RUN_COLUMNS} FROM runs WHERE outcome = {SQL_RUNNING} AND lease_until < :now ORDER BY seq LIMIT :limit
FOR NO KEY UPDATE SKIP LOCKED
"""

SELECT_WAITING_TO_SETTLE = f"SELECT {JOB_COLUMNS} FROM jobs WHERE {WAITING_TO_SETTLE} LIMIT :limit"

# The newest successful output of each job (the context a dependent job receives).
LATEST_OUTPUTS = f"""
SELECT r.job_id, r.output FROM runs r
WHERE r.job_id IN {_ids("ids")} AND r.outcome = {SQL_SUCCEEDED}
  AND r.seq = (SELECT max(seq) FROM runs r2 WHERE r2.job_id = r.job_id AND r2.outcome = {SQL_SUCCEEDED})
"""

# Beyond `keep` messages a user's oldest go: read ones first, unread ones only when there are more than `keep`.
TRIM_INBOX = """
DELETE FROM inbox WHERE id IN (
    SELECT id FROM inbox WHERE user_id = :user_id
    ORDER BY (read_at IS NULL) DESC, seq DESC OFFSET :keep
)
"""

SELECT_OWN_MESSAGE_IDS = f"SELECT id FROM inbox WHERE user_id = :user_id AND id IN {_ids('ids')}"

MARK_READ = f"""
UPDATE inbox SET read_at = :now
WHERE user_id = :user_id AND read_at IS NULL
  AND (:ids::jsonb IS NULL OR id IN {_ids("ids")})
"""

REQUESTED_RUNS = f"""
SELECT {JOB_COLUMNS} FROM jobs WHERE jobs.run_requested_at IS NOT NULL ORDER BY jobs.run_requested_at LIMIT :limit
"""
