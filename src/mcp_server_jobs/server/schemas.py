"""The input schemas published in tools/list, made compact: a model reads every byte of them on every turn.

pydantic's schema repeats itself for a model: `title` on every property, `anyOf [T, null]` with
`default: null` on every optional field, `$defs` referenced once. None of it guides a model; all
of it costs tokens. The compact form says the same: types, bounds, enums, descriptions, examples.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_NOISE = frozenset({"title"})


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema without titles, null arms or `$defs`, refusing unknown properties."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    compact: dict[str, Any] = _walk(schema, defs)
    compact["additionalProperties"] = False
    return compact


def _walk(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_walk(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        # The field's own description and examples say more than the model's docstring.
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
