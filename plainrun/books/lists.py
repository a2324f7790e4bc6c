"""Lists and tables: sort, filter, total, group, count, deduplicate."""

from __future__ import annotations

import functools
from typing import Any

from plainrun.language.books import procedure
from plainrun.language.operations import aggregate, equals, field_of, order
from plainrun.language.values import to_text


def _sorted(items: list[Any], key: str | None, descending: bool) -> list[Any]:
    def compare(a: Any, b: Any) -> int:
        if key is not None:
            a, b = field_of(a, key), field_of(b, key)
        return order(a, b)

    return sorted(items, key=functools.cmp_to_key(compare), reverse=descending)


@procedure("to sort the (items)")
def sort(items: list[Any]) -> list[Any]:
    return _sorted(items, None, False)


@procedure("to sort the (items) by (field)")
def sort_by(items: list[Any], field: str) -> list[Any]:
    return _sorted(items, field, False)


@procedure("to sort the (items) by (field) descending")
def sort_by_descending(items: list[Any], field: str) -> list[Any]:
    return _sorted(items, field, True)


@procedure("to reverse the (items)")
def reverse(items: list[Any]) -> list[Any]:
    return items[::-1]


@procedure("to filter the (items) by (field) equal to (value)")
def filter_by(items: list[Any], field: str, value: Any) -> list[Any]:
    return [item for item in items if equals(field_of(item, field), value)]


@procedure("to total the (items)")
def total(items: list[Any]) -> Any:
    return aggregate("sum", items)


@procedure("to total the (items) by (field)")
def total_by(items: list[Any], field: str) -> Any:
    return aggregate("sum", [field_of(item, field) for item in items])


@procedure("to group the (items) by (field)")
def group_by(items: list[Any], field: str) -> dict[str, list[Any]]:
    """A record with one field per distinct value, holding the items that have it."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(to_text(field_of(item, field)), []).append(item)
    return groups


@procedure("to count the (items)")
def count(items: list[Any]) -> int:
    return len(items)


@procedure("to deduplicate the (items)")
def deduplicate(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(equals(item, seen) for seen in out):
            out.append(item)
    return out
