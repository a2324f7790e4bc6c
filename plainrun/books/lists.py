"""Lists and tables: sort, filter, total, average, group, count, deduplicate.

A field is named as written: ``sort the invoices by amount descending``, ``group the invoices by
vendor``, ``filter the invoices by vendor equal to "Acme"``, ``total the invoices by amount``
(or in quotes: ``by "due date"``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from plainrun.language.arguments import FieldName
from plainrun.language.books import procedure
from plainrun.language.comparison import COMPARISONS, equals, order
from plainrun.language.tables import aggregate, field_of
from plainrun.language.values import NOT_FOUND, to_text


def _fields(items: list[Any], field: str) -> list[Any]:
    """Each item's ``field``; an error when no item has it (a misspelt field would otherwise sort,
    filter or total nothing without a word)."""
    values = [field_of(item, field) for item in items]
    if values and all(value is NOT_FOUND for value in values):
        first = items[0]
        known = f" (they have: {', '.join(first)})" if isinstance(first, dict) and first else ""
        raise ValueError(f'none of the items has a field "{field}"{known}')
    return values


def _sorted(items: list[Any], key: str | None, descending: bool) -> list[Any]:
    if key is not None:
        _fields(items, key)

    def compare(a: Any, b: Any) -> int:
        if key is not None:
            a, b = field_of(a, key), field_of(b, key)
        if a is NOT_FOUND or b is NOT_FOUND:  # items without the field go last
            return (
                (a is NOT_FOUND) - (b is NOT_FOUND) if not descending else (b is NOT_FOUND) - (a is NOT_FOUND)
            )
        return order(a, b)

    return sorted(items, key=functools.cmp_to_key(compare), reverse=descending)


@procedure("to sort the (items)")
def sort(items: list[Any]) -> list[Any]:
    return _sorted(items, None, False)


@procedure("to sort the (items) descending")
def sort_descending(items: list[Any]) -> list[Any]:
    return _sorted(items, None, True)


@procedure("to sort the (items) by (field)")
@procedure("to sort the (items) by (field) ascending")
@procedure("to sort the (items) by (field) in ascending order")
def sort_by(items: list[Any], field: FieldName) -> list[Any]:
    return _sorted(items, field, False)


@procedure("to sort the (items) by (field) descending")
@procedure("to sort the (items) by (field) in descending order")
def sort_by_descending(items: list[Any], field: FieldName) -> list[Any]:
    return _sorted(items, field, True)


@procedure("to reverse the (items)")
def reverse(items: list[Any]) -> list[Any]:
    return items[::-1]


def _filter(test: Callable[[Any, Any], bool]) -> Callable[[list[Any], FieldName, Any], list[Any]]:
    """A filter of the items whose field passes ``test`` against the value."""

    def filtered(items: list[Any], field: FieldName, value: Any) -> list[Any]:
        return [item for item, own in zip(items, _fields(items, field), strict=True) if test(own, value)]

    return filtered


filter_by = procedure("to filter the (items) by (field) equal to (value)")(_filter(equals))
filter_by_not = procedure("to filter the (items) by (field) not equal to (value)")(_filter(COMPARISONS["!="]))
filter_by_greater = procedure("to filter the (items) by (field) greater than (value)")(
    _filter(COMPARISONS[">"])
)
filter_by_less = procedure("to filter the (items) by (field) less than (value)")(_filter(COMPARISONS["<"]))
filter_by_containing = procedure("to filter the (items) by (field) containing (value)")(
    _filter(COMPARISONS["contains"])
)


@procedure("to total the (items)")
def total(items: list[Any]) -> Any:
    return aggregate("sum", items)


@procedure("to total the (items) by (field)")
def total_by(items: list[Any], field: FieldName) -> Any:
    return aggregate("sum", _fields(items, field))


@procedure("to average the (items) by (field)")
def average_by(items: list[Any], field: FieldName) -> Any:
    return aggregate("average", _fields(items, field))


@procedure("to group the (items) by (field)")
def group_by(items: list[Any], field: FieldName) -> dict[str, list[Any]]:
    """A record with one field per distinct value, holding the items that have it."""
    groups: dict[str, list[Any]] = {}
    for item, value in zip(items, _fields(items, field), strict=True):
        groups.setdefault(to_text(value), []).append(item)
    return groups


@procedure("to count the (items)")
def count(items: list[Any]) -> int:
    return len(items)


@procedure("to count the (items) by (field)")
def count_by(items: list[Any], field: FieldName) -> dict[str, int]:
    """A record with one field per distinct value, holding how many items have it."""
    counts: dict[str, int] = {}
    for value in _fields(items, field):
        counts[to_text(value)] = counts.get(to_text(value), 0) + 1
    return counts


@procedure("to deduplicate the (items)")
def deduplicate(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(equals(item, seen) for seen in out):
            out.append(item)
    return out


@procedure("to deduplicate the (items) by (field)")
def deduplicate_by(items: list[Any], field: FieldName) -> list[Any]:
    """The first item of each distinct value of the field."""
    out: list[Any] = []
    kept: list[Any] = []
    for item, value in zip(items, _fields(items, field), strict=True):
        if not any(equals(value, other) for other in kept):
            out.append(item)
            kept.append(value)
    return out
