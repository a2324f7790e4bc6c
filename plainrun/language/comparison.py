"""Comparing process values: a value compares the way it prints.

* Text equals text without regard to case or surrounding spaces; two texts that read as numbers
  are equal as numbers (``"1,000.00"`` is ``"1000"``), except codes with a leading zero
  (``"007"`` is not ``"7"``).
* Numbers, money (of one currency) and percentages compare by amount (``2%`` is 0.02).
* Dates and date-times compare in time; a date-time without a time zone is read in UTC, so
  ``now`` (which has one) compares with ``2026-11-23T10:00``; a date is its midnight.
* ``Not Found`` equals ``"Not Found"`` and the empty text, and is neither smaller nor greater than
  anything; a list equals the text it prints as (``"a, b"``), and a one-item list its item.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from typing import Any

from plainrun.language.arithmetic import as_datetime, exact, number_of, show
from plainrun.language.conversion import as_date
from plainrun.language.errors import ProcessRuntimeError
from plainrun.language.values import (
    NOT_FOUND,
    Money,
    Percent,
    Value,
    get_field,
    reads_as_identifier,
    to_text,
)

_TRUE_TEXT = {"yes", "true", "y"}
_FALSE_TEXT = {"no", "false", "n", ""}


def truthy(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_TEXT:
            return True
        if text in _FALSE_TEXT:
            return False
        number = number_of(text)
        return number is None or bool(_amount(number) != 0)
    if value is NOT_FOUND or value is None:
        return False
    if isinstance(value, int | Money | Percent) or number_of(value) is not None:
        return bool(_amount(number_of(value)) != 0)
    if isinstance(value, list | dict):
        return bool(value)
    return True


def is_empty(value: Value) -> bool:
    if value is NOT_FOUND or value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def _amount(number: Any) -> Any:
    if isinstance(number, Money):
        return number.amount
    if isinstance(number, Percent):
        return number.fraction
    return number


def _comparable_number(value: Value) -> Any:
    if isinstance(value, str) and reads_as_identifier(value):
        return None
    return number_of(value)


def _numbers_equal(x: Any, y: Any) -> bool:
    if isinstance(x, Money) and isinstance(y, Money) and x.currency != y.currency:
        return False
    return bool(_amount(x) == _amount(y))


def equals(a: Value, b: Value) -> bool:
    if a is b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        if a.strip().casefold() == b.strip().casefold():
            return True
        x, y = _comparable_number(a), _comparable_number(b)
        return x is not None and y is not None and _numbers_equal(x, y)
    if a is NOT_FOUND or b is NOT_FOUND:
        other = b if a is NOT_FOUND else a
        return is_empty(other) or (isinstance(other, str) and other.strip().casefold() == "not found")
    if isinstance(a, bool) or isinstance(b, bool):
        return _flags_equal(a, b)
    x, y = _comparable_number(a), _comparable_number(b)
    if x is not None and y is not None:
        return _numbers_equal(x, y)
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        da, db = as_date(a), as_date(b)
        return da is not None and db is not None and as_datetime(da) == as_datetime(db)
    if isinstance(a, list) or isinstance(b, list):
        return _lists_equal(a, b)
    if isinstance(a, str) or isinstance(b, str):
        return to_text(a).strip().casefold() == to_text(b).strip().casefold()
    return bool(a == b)


def _flags_equal(a: Value, b: Value) -> bool:
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    other, flag = (b, a) if isinstance(a, bool) else (a, b)
    if isinstance(other, str) and other.strip().lower() in _TRUE_TEXT | _FALSE_TEXT:
        return truthy(other) == flag
    return False


def _lists_equal(a: Value, b: Value) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b, strict=True))
    items, other = (a, b) if isinstance(a, list) else (b, a)
    if len(items) == 1 and not isinstance(other, str):
        return equals(items[0], other)
    return isinstance(other, str) and to_text(items).strip().casefold() == other.strip().casefold()


def order(a: Value, b: Value) -> int:
    """-1, 0 or 1; raises ProcessRuntimeError for values that have no order between them."""
    x, y = number_of(a), number_of(b)
    if x is not None and y is not None:
        if isinstance(x, Money) and isinstance(y, Money) and x.currency != y.currency:
            raise ProcessRuntimeError(f"cannot compare {x} with {y}: different currencies")
        xa, ya = _amount(x), _amount(y)
        return int(xa > ya) - int(xa < ya)
    if isinstance(a, dt.date) or isinstance(b, dt.date) or (isinstance(a, str) and isinstance(b, str)):
        da, db = as_date(a), as_date(b)
        if da is not None and db is not None:
            left, right = as_datetime(da), as_datetime(db)
            return int(left > right) - int(left < right)
    if isinstance(a, str) and isinstance(b, str):
        fa, fb = a.strip().casefold(), b.strip().casefold()
        return int(fa > fb) - int(fa < fb)
    raise ProcessRuntimeError(f"cannot compare {show(a)} with {show(b)}")


def contains(container: Value, item: Value) -> bool:
    if isinstance(container, list):
        return any(equals(element, item) for element in container)
    if isinstance(container, dict):
        return get_field(container, to_text(item)) is not NOT_FOUND
    if container is NOT_FOUND:
        return False
    return to_text(item).casefold() in to_text(container).casefold()


def one_of(value: Value, choices: Value) -> bool:
    """``is one of "a", "b"`` / ``is in the statuses``."""
    if isinstance(choices, list):
        return any(equals(value, choice) for choice in choices)
    if isinstance(choices, dict):
        return get_field(choices, to_text(value)) is not NOT_FOUND
    if isinstance(choices, str):
        return to_text(value).strip().casefold() in choices.casefold()
    return equals(value, choices)


def between(value: Value, low: Value, high: Value) -> bool:
    if NOT_FOUND in (value, low, high):
        return False
    return order(value, low) >= 0 and order(value, high) <= 0


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Value, Value], bool]:
    """A comparison by ``test`` (``operator.lt`` …), of the numbers or of ``order``'s sign and 0."""

    def check(a: Value, b: Value) -> bool:
        x, y = exact(a), exact(b)
        if x is not None and y is not None:
            return test(x, y)
        if a is NOT_FOUND or b is NOT_FOUND:
            return False  # a missing value is neither smaller nor greater than anything
        return test(order(a, b), 0)

    return check


COMPARISONS: dict[str, Callable[[Value, Value], bool]] = {
    "=": equals,
    "!=": lambda a, b: not equals(a, b),
    "contains": contains,
    "starts": lambda a, b: to_text(a).casefold().startswith(to_text(b).casefold()),
    "ends": lambda a, b: to_text(a).casefold().endswith(to_text(b).casefold()),
    "empty": lambda a, b: is_empty(a),
    "in": one_of,
    "<": _ordered(operator.lt),
    ">": _ordered(operator.gt),
    "<=": _ordered(operator.le),
    ">=": _ordered(operator.ge),
}


def compare(op: str, a: Value, b: Value) -> bool:
    return COMPARISONS[op](a, b)
