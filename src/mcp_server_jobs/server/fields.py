"""The bounds and descriptions of the fields a client writes, declared once for the request models."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from mcp_server_jobs.models import Entity

MAX_METADATA_BYTES = 8192


def _metadata_size(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), default=str))
    if size > MAX_METADATA_BYTES:
        raise ValueError(
            f"metadata is {size} bytes as JSON; keep it under {MAX_METADATA_BYTES} bytes "
            "(put long text in the description)"
        )
    return value


JobId = Annotated[str, Field(min_length=1, max_length=64, description="A job id, as job_create returned it.")]
Title = Annotated[
    str,
    Field(min_length=1, max_length=200, description="Short name, shown in lists and the inbox."),
]
Description = Annotated[
    str,
    Field(
        min_length=1,
        max_length=10_000,
        description="The agent's full instructions for each run, in plain words.",
    ),
]
EndCondition = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2_000,
        description="ONGOING only (required there): what must hold to end the job, judged after each run, "
        "e.g. 'the price is below $20'.",
    ),
]
DedupKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Creating again with the same key returns the live job, not a copy.",
    ),
]
Metadata = Annotated[
    dict[str, Any],
    Field(description=f"Any JSON object, returned as given (at most {MAX_METADATA_BYTES} bytes)."),
    AfterValidator(_metadata_size),
]
DependsOn = Annotated[
    list[JobId],
    Field(max_length=20, description="Ids of jobs that must COMPLETE first; their outputs go to this job's runs."),
]
Reason = Annotated[str, Field(max_length=500, description="Why, in a few words; shown as the status reason.")]


Entities = Annotated[
    list[Entity], Field(max_length=50, description="People, companies, pages the job is about: names or objects.")
]
