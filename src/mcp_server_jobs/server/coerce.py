"""What a client's model sends near the mark, made exact before validation.

Models write `one_off` for `ONE_OFF`, a single id where a list is expected, plain names for
entities. Each coercion here is unambiguous: anything it cannot read exactly is left for
validation to refuse in our words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any

_SEPARATORS = re.compile(r"[\s,;]+")


def enum_named(choices: type[StrEnum] | tuple[str, ...]) -> Callable[[Any], Any]:
    """A before-validator reading `one_off`, `One-Off` or `one off` as the choice `ONE_OFF`."""
    values = [member.value for member in choices] if isinstance(choices, type) else list(choices)
    by_key = {_key(value): value for value in values}

    def read(value: Any) -> Any:
        if isinstance(value, str):
            return by_key.get(_key(value), value)
        return value

    return read


def _key(text: str) -> str:
    return "_".join(text.strip().replace("-", " ").split()).casefold()


def words_list(value: Any) -> Any:
    """A before-validator: one word-like value, or several in one string ('job_a, job_b'), as a list.

    Only for values without spaces of their own (ids, enum names), where splitting is unambiguous.
    """
    if isinstance(value, str):
        return [part for part in _SEPARATORS.split(value) if part]
    return value


def one_as_list(value: Any) -> Any:
    """A before-validator: a single value where a list is expected is a list of one."""
    if value is None or isinstance(value, list | tuple):
        return value
    return [value]


def entity_list(value: Any) -> Any:
    """A before-validator: entities as plain names ('Acme' or ['Acme', {'name': 'Globex'}])."""
    items = one_as_list(value)
    if not isinstance(items, list | tuple):
        return items
    return [{"name": item} if isinstance(item, str) else item for item in items]


def joined_words(value: Any) -> Any:
    """A before-validator: a list of words is the same search as the words in one string."""
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return " ".join(item.strip() for item in value if item.strip())
    return value


def trimmed(value: Any) -> Any:
    """A before-validator: an id copied with spaces around it is the id."""
    return value.strip() if isinstance(value, str) else value


def spelled_schedule(value: Any) -> Any:
    """A before-validator: a schedule written as one string is kept whole, for the job's type to read."""
    return {"text": value} if isinstance(value, str) else value
