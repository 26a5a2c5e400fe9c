"""The verdict that ends every run (design §5.5): what each job asks of its agent, and how the answer is read.

The fields asked for depend on the job: `goal_met` only of ONGOING jobs, `worth_reporting` only where it
decides delivery (notify=auto), the report only where a message can be sent. A field that is asked for
is required, so a small model cannot leave the judgement that matters out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, ValidationError, create_model

from mcp_server_jobs.explain import problems
from mcp_server_jobs.models import Job, JobType, Notify


class Verdict(BaseModel):
    """The agent's judgement of its own run, as recorded (fields a job did not ask for keep their default)."""

    outcome: Literal["success", "failure"] = Field(
        description="success if the instructions were carried out; failure if they could not be."
    )
    summary: str = Field(max_length=2_000, description="One or two sentences: what was done and found.")
    goal_met: bool | None = Field(default=None, description="ONGOING jobs only: whether the end condition now holds.")
    worth_reporting: bool = Field(
        default=False, description="Whether the user should be told about this run now (an inbox message)."
    )
    report_title: str | None = Field(default=None, max_length=200, description="Title of the message to the user.")
    report: str | None = Field(default=None, max_length=50_000, description="The message to the user, in Markdown.")


# name: (type, default, description, the line of the text backends' JSON template)
_FIELDS: dict[str, tuple[Any, Any, str, str]] = {
    "outcome": (
        Literal["success", "failure"], ..., "success if you carried out the instructions, failure if you could not.",
        '"outcome": "success" or "failure"',
    ),
    "summary": (
        str, ..., "What you did and found, in one or two sentences.",
        '"summary": "what you did and found, in one or two sentences"',
    ),
    "goal_met": (
        bool, ..., "true if the job's end condition holds now, else false.",
        '"goal_met": true or false (required: does the end condition hold now?)',
    ),
    "worth_reporting": (
        bool, ..., "true if the user should be told about this run now, else false.",
        '"worth_reporting": true or false (required: should the user be told about this run now?)',
    ),
    "report_title": (str | None, None, "A short title for the message to the user.", '"report_title": "a short title"'),
    "report": (
        str | None, None, "The message to the user, in Markdown.", '"report": "the message for the user, in Markdown"'
    ),
}  # fmt: skip
_LIMITS = {"summary": 2_000, "report_title": 200, "report": 50_000, "output": 200_000}


def asked_fields(job: Job, *, goal_met: bool = True) -> list[str]:
    """The verdict fields this job asks for; `goal_met=False` leaves the end condition to a separate check."""
    names = ["outcome", "summary"]
    if goal_met and job.job_type is JobType.ONGOING:
        names.append("goal_met")
    if job.notify is Notify.AUTO:
        names.append("worth_reporting")
    if job.notify is not Notify.NEVER:
        names += ["report_title", "report"]
    return names


_OUTPUT = (str, ..., "The full result of the work: findings, data, drafts.")


@cache
def _model(name: str, names: tuple[str, ...]) -> type[BaseModel]:
    """The answer type with these fields, built once: a class costs pydantic about a millisecond, every run."""
    definitions: dict[str, Any] = {}
    for field in names:
        kind, default, text = _OUTPUT if field == "output" else _FIELDS[field][:3]
        checked = Annotated[kind, AfterValidator(_not_copied(field, text))] if kind in (str, str | None) else kind
        definitions[field] = (checked, Field(default, description=text, max_length=_LIMITS.get(field)))
    return create_model(name, **definitions)


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _not_copied(field: str, description: str) -> Callable[[Any], Any]:
    """A validator reading a field's own description (or JSON template text) as its value as nothing written.

    Small models, unsure what to write, copy it ('The full result of the work: findings, data, drafts.')
    and put the content elsewhere; refusing it cost the run its one output retry, and failed it.
    """
    template = re.search(r': "([^"]+)"', _FIELDS[field][3]) if field in _FIELDS else None
    copies = {_words(description), *([_words(template.group(1))] if template else [])}

    def check(value: Any) -> Any:
        return "" if isinstance(value, str) and _words(value) in copies else value

    return check


def verdict_model(job: Job) -> type[BaseModel]:
    """What a text backend's JSON verdict must hold for this job."""
    return _model("Verdict", tuple(asked_fields(job)))


def report_model(job: Job) -> type[BaseModel]:
    """The model backend's structured answer: the work's output first, then the verdict (end condition aside)."""
    return _model("Report", ("output", *asked_fields(job, goal_met=False)))


def verdict_instructions(job: Job) -> str:
    """The paragraph that asks a text backend for its verdict as a JSON object."""
    lines = ",\n ".join(_FIELDS[name][3] for name in asked_fields(job))
    return f"When you have finished, end your answer with this JSON object on its own, judging this run:\n{{{lines}}}"


MODEL_INSTRUCTIONS = """\
You carry out a background job for a user who is not watching. Do the work the instructions describe,
using your tools where they help; use tools that act (send, post, buy) only when the instructions ask for
it. Then give your result: `output` holds everything the user or a later job needs, with the facts you
found (names, numbers, prices); the other fields judge the run."""

VERDICT_ONLY = """\
Your previous answer did not end with a valid verdict ({problem}). Reply with the JSON verdict object
alone, nothing else, judging the work described in your previous answer:"""


class EndCheck(BaseModel):
    """The answer to the end-condition question."""

    holds: bool = Field(description="true if the end condition holds now, else false.")


NEGATED = "It is not the case that: "


def end_check_prompt(condition: str, evidence: str, *, negated: bool = False) -> str:
    """One short question: does the condition (or, `negated`, its opposite) hold, judged on what the run found."""
    return (
        f"End condition of a background job:\n{NEGATED if negated else ''}{condition}\n\n"
        f"What the job's latest run found:\n---\n{evidence}\n---\n\n"
        "Judging only by what the run found, does the end condition hold now? Answer holds: true or false."
    )


def preview(job: Job, context: str) -> str:
    """What a dry run shows: the prompt each kind of backend would get for this job."""
    fields = ", ".join(["output", *asked_fields(job, goal_met=False)])
    check = ""
    if job.job_type is JobType.ONGOING:
        check = (
            "\nThen two short requests ask whether the end condition holds, and whether its opposite does, "
            "quoting what the run found."
        )
    return (
        f"{context}\n\n{verdict_instructions(job)}\n\n"
        "--- the command, mcp-agent and sampling backends get all of the above; the model backend gets the "
        f"context without the JSON paragraph, with these instructions, and answers in the fields {fields}: ---\n"
        f"{MODEL_INSTRUCTIONS}{check}"
    )


class VerdictError(ValueError):
    """The text did not end with a valid verdict."""


def _json_objects(text: str) -> list[str]:
    """Every balanced {...} span of `text` that is outside JSON strings, in order of their end."""
    spans, depth, start, in_string, escaped = [], 0, -1, False, False
    for index, char in enumerate(text):
        if in_string:
            escaped = not escaped and char == "\\"
            if char == '"' and not escaped:
                in_string = False
            continue
        if char == '"' and depth:
            in_string = True
        elif char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : index + 1])
    return spans


def parse_verdict(text: str, job: Job) -> Verdict:
    """The verdict in the last JSON object of `text`, holding what `job` asks for; VerdictError saying what is wrong."""
    candidates = _json_objects(text)
    if not candidates:
        raise VerdictError("no JSON object found")
    try:
        data = json.loads(candidates[-1])
    except json.JSONDecodeError as exc:
        raise VerdictError(f"the last JSON object is not valid JSON: {exc.msg}") from exc
    # A run that failed has nothing to judge further: its outcome and summary are enough.
    model = Verdict if isinstance(data, dict) and data.get("outcome") == "failure" else verdict_model(job)
    try:
        asked = model.model_validate(data)
    except ValidationError as exc:
        raise VerdictError(
            f"the verdict is not valid: {problems(exc, model.model_json_schema(), any_case=False)}"
        ) from exc
    return Verdict.model_validate(asked.model_dump())
