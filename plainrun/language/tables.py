"""Lists, tables and records: what ``process each`` goes through, aggregates, ordinals, fields and
``whose`` filters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from plainrun.language.arithmetic import arithmetic, tidy
from plainrun.language.comparison import COMPARISONS, between, order
from plainrun.language.conversion import to_number
from plainrun.language.errors import MissingFact, ProcessRuntimeError
from plainrun.language.values import NOT_FOUND, FileRef, Money, Value, get_field


def items_of(value: Value) -> list[Value]:
    """What ``process each`` goes through: a list's items; Not Found gives none; anything else is one item."""
    if isinstance(value, list):
        return value
    if value is NOT_FOUND:
        return []
    return [value]


def aggregate(function: str, value: Value) -> Value:
    if function == "length" and isinstance(value, str):
        return len(value)  # the length of a text is its characters; the number of it is one item
    values = items_of(value)
    if function in ("count", "length"):
        return len(values)
    if function == "sum" or function == "average":
        if not values:
            if function == "sum":
                return 0
            raise ProcessRuntimeError("cannot average an empty list")
        total: Value = to_number(values[0])
        for item in values[1:]:
            total = arithmetic("+", total, to_number(item))
        return total if function == "sum" else arithmetic("/", total, len(values))
    if not values:
        raise ProcessRuntimeError(f"the {function} of an empty list does not exist")
    best = values[0]
    for item in values[1:]:
        sign = order(item, best)
        if (function == "minimum" and sign < 0) or (function == "maximum" and sign > 0):
            best = item
    return best


_SPLITTERS: dict[str, Callable[[str], list[str]]] = {
    "line": str.splitlines,
    "word": str.split,
    "character": list,
    "letter": list,
    "paragraph": lambda text: [p for p in re.split(r"\n\s*\n", text) if p.strip()],
}


def pick(value: Value, index: int, noun: str, what: str) -> Value:
    """The ``index``-th (1-based; -1 the last) item of a list, or line/word/character of a text."""
    if isinstance(value, str):
        splitter = _SPLITTERS.get(noun.split(" ")[-1], _SPLITTERS["line"])
        value = splitter(value)
    items = items_of(value)
    position = index - 1 if index > 0 else len(items) + index
    if 0 <= position < len(items):
        return items[position]
    ordinal = "last" if index == -1 else f"{index}{_suffix(index)}"
    raise MissingFact(f"there is no {ordinal} {noun} in {what} (it has {len(items)})", facts=[what])


def _suffix(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def field_of(value: Value, name: str) -> Value:
    """A field of a record, a file (name, size, type, id), money, a date, or of each item of a list."""
    if isinstance(value, dict):
        return get_field(value, name)
    if isinstance(value, list):
        return [field_of(item, name) for item in value]
    key = name.lower()
    if isinstance(value, FileRef):
        table = {
            "name": value.name,
            "size": value.size,
            "content type": value.content_type,
            "type": value.content_type,
            "id": value.id,
        }
        return table.get(key, NOT_FOUND)
    if isinstance(value, Money):
        return {"amount": tidy(value.amount), "currency": value.currency}.get(key, NOT_FOUND)
    if isinstance(value, dt.date):
        parts = {"year": value.year, "month": value.month, "day": value.day, "weekday": value.strftime("%A")}
        return parts.get(key, NOT_FOUND)
    if isinstance(value, str) and key == "length":
        return len(value)
    return NOT_FOUND


def whose(source: Value, field: str, op: str, expected: Value) -> list[Value]:
    """The items whose ``field`` passes ``op`` (``!`` in front negates; ``between`` takes a pair)."""
    negate = op.startswith("!")
    op = op.lstrip("!")
    if op == "between":
        low, high = expected
        return [item for item in items_of(source) if between(field_of(item, field), low, high) != negate]
    check = COMPARISONS[op]
    return [item for item in items_of(source) if check(field_of(item, field), expected) != negate]
