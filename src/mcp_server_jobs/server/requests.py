"""The tools' arguments, one pydantic model per tool: the input schema and the validation in one place."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from mcp_server_jobs.errors import InvalidInput, Suggestion
from mcp_server_jobs.models import JobStatus, JobType, Notify, RunLimits
from mcp_server_jobs.server.coerce import entity_list, enum_named, joined_words, spelled_schedule, trimmed, words_list
from mcp_server_jobs.server.fields import (
    DedupKey,
    DependsOn,
    Description,
    EndCondition,
    Entities,
    JobId,
    Metadata,
    Reason,
    Title,
)
from mcp_server_jobs.server.schedule_input import EXAMPLE_DAY, SCHEDULE_TEXT_MAX, ScheduleInput

Id = Annotated[JobId, BeforeValidator(trimmed)]
Kind = Annotated[JobType, BeforeValidator(enum_named(JobType))]
When = Annotated[Notify, BeforeValidator(enum_named(Notify))]
Ids = Annotated[DependsOn, BeforeValidator(words_list)]
Names = Annotated[Entities, BeforeValidator(entity_list)]
SCHEDULE_FORMS = (
    "Or one string: a cron ('0 9 * * 1'), 'every 2h', 'every monday at 9am', 'weekdays at 8:30', "
    f"'in 30 minutes', 'tomorrow at 9am', '{EXAMPLE_DAY} 09:00'; read in the server's timezone."
)


def _text_arm(schema: dict[str, Any]) -> None:
    """Publish the string form beside the object form of a schedule."""
    arms = schema.pop("anyOf", None) or [{"$ref": schema.pop("$ref")}]
    schema["anyOf"] = [{"type": "string", "maxLength": SCHEDULE_TEXT_MAX, "description": SCHEDULE_FORMS}, *arms]


Schedule = Annotated[ScheduleInput, BeforeValidator(spelled_schedule), Field(json_schema_extra=_text_arm)]

StatusFilter = Annotated[
    Annotated[list[Annotated[JobStatus, BeforeValidator(enum_named(JobStatus))]], Field(max_length=9)] | None,
    BeforeValidator(words_list),
    Field(description="Only jobs in these statuses. Default: all but ARCHIVED."),
]
TypeFilter = Annotated[
    Annotated[list[Kind], Field(max_length=4)] | None,
    BeforeValidator(words_list),
    Field(description="Only jobs of these types."),
]


class Request(BaseModel):
    """Base of the tool argument models: unknown arguments are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")
    # The tool whose schema describes the same fields (tools/list then says it once).
    described_by: ClassVar[type[BaseModel] | None] = None


class JobCreateRequest(Request):
    title: Title
    description: Description
    job_type: Kind = Field(
        description="ONE_OFF: once. SCHEDULED: on calendar times (cron). RECURRING: every interval. "
        "ONGOING: every interval (or cron) until end_condition holds."
    )
    schedule: Schedule = Field(
        default_factory=ScheduleInput,
        description="When it runs, as an object or one string. Omit for a ONE_OFF that should run now.",
    )
    end_condition: EndCondition | None = None
    depends_on: Ids = Field(default_factory=list)
    related_entities: Names = Field(default_factory=list)
    notify: When = Field(
        default=Notify.AUTO,
        description="When a run reports to the inbox. auto: when it found something worth reading; always; "
        "on_completion: when the job ends; never.",
    )
    metadata: Metadata = Field(default_factory=dict)
    limits: RunLimits | None = Field(default=None, description="A budget for each run: tokens, tool calls, requests.")
    dedup_key: DedupKey | None = None


class JobGetRequest(Request):
    job_id: Id
    runs: int = Field(default=5, ge=0, le=100, description="How many of the latest runs to include.")


class KeywordSearchRequest(Request):
    keywords: Annotated[str, BeforeValidator(joined_words)] = Field(
        min_length=1,
        max_length=500,
        description="Plain words to find in titles, descriptions, end conditions and entities.",
    )
    match: Annotated[Literal["any", "all"], BeforeValidator(enum_named(("any", "all")))] = Field(
        default="any", description="any: a job with any word; all: every word."
    )
    status: StatusFilter = None
    job_type: TypeFilter = None
    limit: int = Field(default=20, ge=1, le=100, description="At most this many results.")


class SemanticSearchRequest(Request):
    described_by = KeywordSearchRequest

    query: str = Field(
        min_length=1,
        max_length=1_000,
        description="What the job is about, in the user's words.",
    )
    status: StatusFilter = None
    job_type: TypeFilter = None
    limit: int = Field(default=10, ge=1, le=100, description="At most this many results.")


_SETTABLE = ("ACTIVE", "COMPLETED", "ARCHIVED")
# Statuses job_update does not set, each with the tool that does.
_STATUS_TOOLS = {"PAUSED": ("job_pause", "To pause it"), "CANCELLED": ("job_cancel", "To cancel it")}


class JobUpdateRequest(Request):
    described_by = JobCreateRequest

    job_id: Id
    title: Title | None = None
    description: Description | None = None
    schedule: Schedule | None = Field(
        default=None,
        description=(
            "The fields of job_create's schedule; those given replace the current ones, others are kept "
            "(a past start is dropped). next_run_at is recomputed from now."
        ),
    )
    end_condition: EndCondition | None = None
    depends_on: Ids | None = None
    related_entities: Names | None = None
    notify: When | None = None
    metadata: Metadata | None = None
    limits: RunLimits | None = Field(
        default=None, description="A new budget for each run, as in job_create (replaces the old one)."
    )
    status: Annotated[Literal["ACTIVE", "COMPLETED", "ARCHIVED"], BeforeValidator(enum_named(_SETTABLE))] | None = (
        Field(
            default=None,
            description=(
                "ACTIVE: resume a PAUSED job, unblock a BLOCKED one, or retry a FAILED one. "
                "COMPLETED: end an ONGOING job whose goal was met. ARCHIVED: hide a finished job."
            ),
        )
    )

    @model_validator(mode="before")
    @classmethod
    def _status_tool(cls, data: Any) -> Any:
        """PAUSED and CANCELLED have tools of their own (with a reason and their own rules): point to them."""
        status = data.get("status") if isinstance(data, dict) else None
        wanted = status.strip().upper() if isinstance(status, str) else None
        if wanted in _STATUS_TOOLS:
            tool, purpose = _STATUS_TOOLS[wanted]
            job_id = data.get("job_id")
            arguments = {"job_id": job_id.strip()} if isinstance(job_id, str) else {}
            suggestion = Suggestion(purpose, tool, arguments)
            raise InvalidInput(f"status: job_update does not set {wanted}; use {tool}", suggestion=suggestion)
        return data


class JobStatusRequest(Request):
    job_id: Id
    reason: Reason | None = None


class JobRunNowRequest(Request):
    job_id: Id


class InboxListRequest(Request):
    unread_only: bool = Field(default=True, description="Only messages not yet marked read.")
    limit: int = Field(default=20, ge=1, le=200, description="At most this many messages, newest first.")


class InboxMarkReadRequest(Request):
    message_ids: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], BeforeValidator(words_list)] | None
    ) = Field(default=None, max_length=200, description="Ids of the messages to mark read.")
    all: bool = Field(default=False, description="Mark every unread message read instead.")


class OverviewRequest(Request):
    # No arguments (a docstring would be published as the schema's description): the page is fixed.
    pass
