"""The verdict that ends every run (design §5.5): validated, structured, decided on by code."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field, ValidationError


class Verdict(BaseModel):
    """The agent's judgement of its own run."""

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


VERDICT_INSTRUCTIONS = """\
When you have finished, end your answer with a JSON object on its own, judging this run:
{"outcome": "success" or "failure", "summary": "what you did and found, in one or two sentences",
 "goal_met": true/false (only if the job has an end condition: does it hold now?),
 "worth_reporting": true/false (should the user be told now?),
 "report_title": "a short title", "report": "the message for the user, in Markdown"}"""

VERDICT_ONLY = """\
Your previous answer did not end with a valid verdict ({problem}). Reply with the JSON verdict object
alone, nothing else, judging the work described in your previous answer:"""


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


def parse_verdict(text: str) -> Verdict:
    """The verdict in the last JSON object of `text`; VerdictError saying what is wrong otherwise."""
    candidates = _json_objects(text)
    if not candidates:
        raise VerdictError("no JSON object found")
    try:
        data = json.loads(candidates[-1])
    except json.JSONDecodeError as exc:
        raise VerdictError(f"the last JSON object is not valid JSON: {exc.msg}") from exc
    try:
        return Verdict.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'verdict'}: {e['msg']}" for e in exc.errors())
        raise VerdictError(f"the verdict is not valid: {problems}") from exc
