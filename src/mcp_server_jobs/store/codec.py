"""How the stores write values into their columns and read their rows back as models.

Both databases take the same parameters: instants as fixed-width UTC text (PostgreSQL reads that text as
a timestamptz) and JSON as the text of one encoder. Rows come back as SQLite left them (text) or as
psycopg reads them (datetimes; JSON as text, see store.postgres.store).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from mcp_server_jobs.models import (
    Delivery,
    DeliveryState,
    Entity,
    InboxMessage,
    Job,
    JobStatus,
    JobType,
    NewJob,
    Notify,
    Run,
    RunLimits,
    RunOutcome,
    RunTrigger,
)
from mcp_server_jobs.schedule import Schedule
from mcp_server_jobs.store.base import DefinedJob, JobFilter, Vector, Worker
from mcp_server_jobs.store.vectors import IndexRow, to_blob


class Row(Protocol):
    """A result row, read by column name (sqlite3.Row, or the dict psycopg makes)."""

    def __getitem__(self, key: str, /) -> Any: ...


# The JobChanges fields held in JSON columns.
_JSON_FIELDS = frozenset({"schedule", "related_entities", "metadata", "limits"})


def to_db(when: datetime | None) -> str | None:
    """Fixed-width UTC text, so instants compare correctly as strings."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str | datetime | None) -> datetime | None:
    """Read an instant written by `to_db` (SQLite's text), or one the driver read already (PostgreSQL's)."""
    if isinstance(value, str):
        # fromisoformat reads the trailing Z as UTC, and is ten times faster than strptime.
        return datetime.fromisoformat(value)
    return value


def _required(text: str | datetime) -> datetime:
    when = from_db(text)
    assert when is not None
    return when


def to_json(value: object) -> str:
    """The text of a JSON column or parameter; a model is written without its unset (None) fields.

    json.dumps' own spacing: PUT_VECTOR compares `related_entities` with the stored text, and rows
    written before this encoder had that spacing.
    """
    return json.dumps(value, default=_model_json)


def _model_json(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _nullable_json(value: object) -> str | None:
    return None if value is None else to_json(value)


def _from_json(text: str | None) -> Any:
    return json.loads(text) if text else None


def job_params(job: NewJob) -> dict[str, Any]:
    """INSERT_JOB's parameters."""
    return {
        "id": job.id,
        "user_id": job.user_id,
        "title": job.title,
        "description": job.description,
        "job_type": job.job_type.value,
        "schedule": to_json(job.schedule),
        "end_condition": job.end_condition,
        "related_entities": to_json(job.related_entities),
        "notify": job.notify.value,
        "metadata": to_json(job.metadata),
        "dedup_key": job.dedup_key,
        "status": job.status.value,
        "status_reason": job.status_reason,
        "next_run_at": to_db(job.next_run_at),
        "created_at": to_db(job.created_at),
        "limits": to_json(job.limits),
    }


def change_value(name: str, value: Any) -> Any:
    """A JobChanges field as its column value."""
    if value is None:
        return None
    if name in _JSON_FIELDS:
        return to_json(value)
    if isinstance(value, datetime):
        return to_db(value)
    return value  # a bool stays one: SQLite stores it as 1 or 0, PostgreSQL in a boolean column


def row_to_job(row: Row) -> Job:
    """A `jobs` row selected with JOB_COLUMNS."""
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        description=row["description"],
        job_type=JobType(row["job_type"]),
        schedule=Schedule.model_validate_json(row["schedule"]),
        end_condition=row["end_condition"],
        depends_on=_from_json(row["depends_on"]),
        related_entities=[Entity.model_validate(e) for e in _from_json(row["related_entities"])],
        notify=Notify(row["notify"]),
        metadata=_from_json(row["metadata"]),
        dedup_key=row["dedup_key"],
        status=JobStatus(row["status"]),
        status_reason=row["status_reason"],
        next_run_at=from_db(row["next_run_at"]),
        last_run_at=from_db(row["last_run_at"]),
        run_count=row["run_count"],
        consecutive_failures=row["consecutive_failures"],
        pause_requested=bool(row["pause_requested"]),
        occurrence_at=from_db(row["occurrence_at"]),
        attempt=row["attempt"],
        version=row["version"],
        created_at=_required(row["created_at"]),
        updated_at=_required(row["updated_at"]),
        limits=RunLimits.model_validate_json(row["limits"]),
        run_requested_at=from_db(row["run_requested_at"]),
    )


def row_to_run(row: Row) -> Run:
    """A `runs` row selected with RUN_COLUMNS."""
    return Run(
        id=row["id"],
        job_id=row["job_id"],
        trigger=RunTrigger(row["trigger"]),
        scheduled_for=from_db(row["scheduled_for"]),
        started_at=from_db(row["started_at"]),
        finished_at=from_db(row["finished_at"]),
        attempt=row["attempt"],
        outcome=RunOutcome(row["outcome"]),
        output=row["output"],
        summary=row["summary"],
        verdict=_from_json(row["verdict"]),
        error=row["error"],
        backend=row["backend"],
        usage=_from_json(row["usage"]),
        lease_owner=row["lease_owner"],
        lease_until=from_db(row["lease_until"]),
        delivery_error=row["delivery_error"],
        note=row["note"],
        agent_pid=row["agent_pid"],
    )


def run_params(run: Run) -> dict[str, Any]:
    """INSERT_RUN's and FINISH_RUN's parameters."""
    return {
        "id": run.id,
        "job_id": run.job_id,
        "trigger": run.trigger.value,
        "scheduled_for": to_db(run.scheduled_for),
        "started_at": to_db(run.started_at),
        "finished_at": to_db(run.finished_at),
        "attempt": run.attempt,
        "outcome": run.outcome.value,
        "output": run.output,
        "summary": run.summary,
        "verdict": _nullable_json(run.verdict),
        "error": run.error,
        "backend": run.backend,
        "usage": _nullable_json(run.usage),
        "lease_owner": run.lease_owner,
        "lease_until": to_db(run.lease_until),
        "note": run.note,
    }


def row_to_message(row: Row) -> InboxMessage:
    """An inbox row selected by LIST_MESSAGES."""
    return InboxMessage(
        id=row["id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        title=row["title"],
        body=row["body"],
        created_at=_required(row["created_at"]),
        read_at=from_db(row["read_at"]),
        delivery=row["delivery"],
        delivery_error=row["delivery_error"],
    )


def message_params(message: InboxMessage) -> dict[str, Any]:
    """INSERT_MESSAGE's parameters."""
    params = message.model_dump(exclude={"delivery", "delivery_error"})
    params["created_at"] = to_db(message.created_at)
    params["read_at"] = to_db(message.read_at)
    return params


def row_to_delivery(row: Row) -> Delivery:
    """A `deliveries` row selected with DELIVERY_COLUMNS."""
    return Delivery(
        message_id=row["message_id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        run_id=row["run_id"],
        url=row["url"],
        payload=_from_json(row["payload"]),
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=from_db(row["next_attempt_at"]),
        last_error=row["last_error"],
        delivered_at=from_db(row["delivered_at"]),
        created_at=_required(row["created_at"]),
    )


def delivery_params(delivery: Delivery) -> dict[str, Any]:
    """INSERT_DELIVERY's parameters: a new delivery is due at once unless it says when."""
    params = delivery.model_dump(include={"message_id", "user_id", "job_id", "run_id", "url"})
    return params | {
        "payload": to_json(delivery.payload),
        "next_attempt_at": to_db(delivery.next_attempt_at or delivery.created_at),
        "created_at": to_db(delivery.created_at),
    }


def settle_params(message_id: str, now: datetime, error: str | None, retry_at: datetime | None) -> dict[str, Any]:
    """SETTLE_DELIVERY's parameters: delivered (no error), pending until `retry_at`, or failed for good."""
    if error is None:
        state = DeliveryState.DELIVERED
    else:
        state = DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
    return {
        "message_id": message_id,
        "state": state.value,
        "retry_at": to_db(retry_at),
        "error": error,
        "delivered_at": to_db(now) if error is None else None,
    }


def vector_params(job: NewJob, vector: Vector) -> dict[str, Any]:
    """PUT_VECTOR's parameters: the vector, and the text it was made from (written only if still current)."""
    return {
        "id": job.id,
        "model": vector.model,
        "vector": to_blob(vector.values),
        "title": job.title,
        "description": job.description,
        "end_condition": job.end_condition,
        "related_entities": to_json(job.related_entities),
    }


def index_row(row: Row) -> IndexRow:
    """A row of SELECT_INDEX_CHANGES."""
    return IndexRow(
        pk=row["pk"],
        job_id=row["id"],
        user_id=row["user_id"],
        status=row["status"],
        job_type=row["job_type"],
        change_seq=row["seq"],
        vector=row["vector"],
    )


def filter_params(where: JobFilter) -> dict[str, Any]:
    """JOB_FILTER's parameters."""
    return {
        "statuses": to_json([s.value for s in where.statuses]),
        "job_types": to_json([t.value for t in where.job_types]),
        # Asking for ARCHIVED by status is asking to see archived jobs.
        "include_archived": where.include_archived or JobStatus.ARCHIVED in where.statuses,
    }


def ids_param(ids: Sequence[str]) -> str:
    """A list of ids as the JSON array that `json_each(:ids)` reads."""
    return to_json(list(ids))


def worker_params(worker: Worker) -> dict[str, Any]:
    """HEARTBEAT's parameters."""
    return asdict(worker) | {"started_at": to_db(worker.started_at), "seen_at": to_db(worker.seen_at)}


def row_to_worker(row: Row) -> Worker:
    """A row of LIVE_WORKERS."""
    return Worker(
        id=row["id"],
        pid=row["pid"],
        host=row["host"],
        runs_jobs=bool(row["runs_jobs"]),
        started_at=_required(row["started_at"]),
        seen_at=_required(row["seen_at"]),
    )


def row_to_defined_job(row: Row) -> DefinedJob:
    """A row of SELECT_DEFINED_JOBS."""
    return DefinedJob(name=row["name"], user_id=row["user_id"], job_id=row["job_id"], digest=row["digest"])
