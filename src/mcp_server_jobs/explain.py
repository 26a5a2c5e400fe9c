"""A validation error in our words: which argument, what is wrong with it, and what it accepts.

pydantic's text names classes ("instance of ScheduleInput") and links to its docs; a model needs
the argument's path, the problem, and the accepted form, which the published schema holds. The one
place that turns a ValidationError into text: tool arguments, the jobs file, settings, verdicts.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

_KINDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}
_TYPE_ERRORS = {
    "string_type": "string",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "float_parsing": "number",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


def explain(exc: ValidationError, schema: dict[str, Any]) -> str:
    """Each problem as 'path: what is wrong; what it takes', then that nothing was changed."""
    return problems(exc, schema) + ". Nothing was changed."


def problems(exc: ValidationError, schema: dict[str, Any] | None = None, *, any_case: bool = True) -> str:
    """Each problem of `exc` once, read against `schema` (without one, from pydantic's details alone).

    `any_case`: the names of an enum are accepted in any case (the tools' arguments), so the text says so.
    """
    errors = _joined_arms(exc.errors())
    return "; ".join(dict.fromkeys(problem(error, schema or {}, any_case=any_case) for error in errors))


def object_forms(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas `node` accepts: itself, or its `anyOf` arms that have properties."""
    return [form for form in [node, *node.get("anyOf", [])] if "properties" in form]


def _joined_arms(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """A value that fits no arm of a union ('a string or a number') is one problem, not one per arm."""
    kinds: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        if error["type"] in _TYPE_ERRORS:
            kinds.setdefault(tuple(_published(error["loc"])), []).append(_KINDS[_TYPE_ERRORS[error["type"]]])
    joined = []
    for error in errors:
        wanted = kinds.get(tuple(_published(error["loc"])), [])
        if error["type"] in _TYPE_ERRORS and len(wanted) > 1:
            error = {**error, "ctx": {"kinds": " or ".join(dict.fromkeys(wanted))}}
        joined.append(error)
    return joined


def _path(error: ErrorDetails, schema: dict[str, Any]) -> list[str | int]:
    """Where the problem is, as the published schema names it."""
    path = _published(error["loc"])
    if path and not isinstance(path[-1], int) and error["type"] != "extra_forbidden":
        # A field the schema does not publish (a schedule's `text`) is the argument it stands for.
        forms = object_forms(_field(schema, path[:-1]))
        if forms and path[-1] not in forms[0]["properties"]:
            path = path[:-1]
    return path


def _published(loc: tuple[str | int, ...]) -> list[str | int]:
    """The path of `loc` without pydantic's union-arm tags."""
    return [part for part in loc if isinstance(part, int) or not _is_arm_tag(str(part))]


def problem(error: ErrorDetails, schema: dict[str, Any], root: str = "", *, any_case: bool = True) -> str:
    """One validation problem as 'path: what is wrong; what it takes', read against the published `schema`.

    Paths start at `root` ('jobs.invoices' in a jobs file); the tools' arguments have none.
    """
    path = _path(error, schema)

    def named(parts: list[str | int]) -> str:
        return ".".join([root] * bool(root) + [str(part) for part in parts]) or "arguments"

    where = named(path)
    field = _field(schema, path)
    kind, ctx, given = error["type"], error.get("ctx", {}), error.get("input")
    if kind == "missing":
        return f"{where} is required" + _about(field)
    if kind == "extra_forbidden":
        forms = object_forms(_field(schema, path[:-1]))
        known = ", ".join(sorted(forms[0]["properties"] if forms else ()))
        return f"{named(path[:-1])} has no field {path[-1]!r}; it takes: {known}"
    if kind in ("enum", "literal_error"):
        choices = field.get("enum") or _choices(str(ctx.get("expected", "")))
        return f"{where}: {_shown(given)} is not one of {', '.join(map(str, choices))}" + " (any case)" * any_case
    if kind in _TYPE_ERRORS:
        wanted = ctx.get("kinds") or _KINDS[_TYPE_ERRORS[kind]]
        return f"{where} must be {wanted}, not {_shown(given)}" + _about(field)
    if kind == "string_too_short":
        return f"{where} is empty; give at least {ctx.get('min_length', 1)} character(s)" + _about(field)
    if kind == "string_too_long":
        return f"{where} is {len(str(given))} characters long; at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"{where} has {ctx.get('actual_length')} items; at most {ctx.get('max_length')} items"
    if kind == "too_short":
        return f"{where} needs at least {ctx.get('min_length')} item(s)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{where} is {_shown(given)}; {_bounds(field)}"
    if kind in ("value_error", "assertion_error"):
        return f"{where}: {ctx.get('error', error['msg'])}"
    return f"{where}: {error['msg']}" + _about(field)


def _is_arm_tag(part: str) -> bool:
    """pydantic names union arms in the path ('function-before[...]', 'str', 'ScheduleInput')."""
    return "[" in part or part in ("str", "int", "float", "list", "dict") or part[:1].isupper()


def _field(schema: dict[str, Any], path: list[str | int]) -> dict[str, Any]:
    """The published schema of the argument at `path` ({} when it has none)."""
    node = schema
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            forms = object_forms(node)
            node = forms[0]["properties"].get(part, {}) if forms else {}
    return node


def _about(field: dict[str, Any]) -> str:
    text = field.get("description")
    if not text:
        return ""
    examples = field.get("examples")
    shown = f" e.g. {', '.join(_shown(example) for example in examples[:2])}" if examples else ""
    return f" ({text.rstrip('.')}{';' if shown else ''}{shown})"


def _bounds(field: dict[str, Any]) -> str:
    low, high = field.get("minimum"), field.get("maximum")
    if low is not None and high is not None:
        return f"give a value from {low} to {high}"
    return f"give at least {low}" if low is not None else f"give at most {high}"


def _choices(expected: str) -> list[str]:
    """pydantic's "'a', 'b' or 'c'" as ['a', 'b', 'c']."""
    return [part.strip(" '") for part in expected.replace(" or ", ", ").split(",") if part.strip(" '")]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
