"""The input schemas published in tools/list, made compact: a model reads every byte of them on every turn.

pydantic's schema repeats itself for a model: `title` on every property, `anyOf [T, null]` with
`default: null` on every optional field, `$defs` referenced once. None of it guides a model; all
of it costs tokens. The compact form says the same: types, bounds, enums, descriptions, examples.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_NOISE = frozenset({"title"})


def input_schema(model: type[BaseModel], described_by: type[BaseModel] | None = None) -> dict[str, Any]:
    """`model`'s JSON schema without titles, null arms or `$defs`, refusing unknown properties.

    With `described_by` (another tool's arguments, in the same tools/list), the descriptions that
    schema already gives for the same fields are left out here.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    compact: dict[str, Any] = _walk(schema, defs)
    compact["additionalProperties"] = False
    if described_by is not None:
        described = input_schema(described_by)["properties"]
        for name, field in compact["properties"].items():
            _drop_repeats(field, described.get(name, {}))
    return compact


def _drop_repeats(node: dict[str, Any], other: dict[str, Any]) -> None:
    if node.get("description") == other.get("description"):
        node.pop("description", None)
    for name, part in node.get("properties", {}).items():
        _drop_repeats(part, other.get("properties", {}).get(name, {}))
    for arm, other_arm in zip(node.get("anyOf", []), other.get("anyOf", []), strict=False):
        _drop_repeats(arm, other_arm)
    if isinstance(node.get("items"), dict):
        _drop_repeats(node["items"], other.get("items", {}))


def _walk(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_walk(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        # The field's description says what it is for; the class docstring is written for us, not the model.
        target = {key: value for key, value in target.items() if key != "description"}
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NOISE or (key == "default" and value is None):
            continue
        if key == "properties":
            out[key] = {name: _walk(prop, defs) for name, prop in value.items()}
        else:
            out[key] = _walk(value, defs)
    return _without_null(out)


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf [T, {type: null}]` as T: a null is read as "not given", so it needs no mention."""
    arms = node.get("anyOf")
    if not isinstance(arms, list):
        return node
    kept = [arm for arm in arms if arm != {"type": "null"}]
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    if len(kept) == 1:
        return _without_null({**kept[0], **rest})
    if all(set(arm) == {"type"} for arm in kept):
        return {"type": [arm["type"] for arm in kept], **rest}
    return {"anyOf": kept, **rest}


def without_titles(node: Any) -> Any:
    """An output schema without its `title`s: the rest (nulls and `$defs` too) is what results are checked against."""
    if isinstance(node, list):
        return [without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: {name: without_titles(prop) for name, prop in value.items()}
        if key == "properties"
        else without_titles(value)
        for key, value in node.items()
        if key not in _NOISE
    }
