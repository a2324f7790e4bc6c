"""Arithmetic, comparison, conversion and list operations on process values.

Text that reads as a number (``"1,000.50"``, ``"$120.20"``) takes part in arithmetic and ordering
as that number. Text equality ignores case and surrounding spaces (``"Open" is "open"``).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from plainrun.language.errors import ConversionError, MissingFact, ProcessRuntimeError
from plainrun.language.values import (
    NOT_FOUND,
    Duration,
    FileRef,
    Money,
    Value,
    format_number,
    from_python_number,
    get_field,
    is_number,
    parse_number,
    to_text,
    type_name,
)

_TRUE_TEXT = {"yes", "true", "y"}
_FALSE_TEXT = {"no", "false", "n", ""}


def number_of(value: Value) -> Any:
    """The value as a number (or Money) if it is or reads as one; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal | Money):
        return value
    if isinstance(value, str):
        return parse_number(value)
    if isinstance(value, float):
        return from_python_number(value)
    return None


def _tidy(number: Decimal) -> int | Decimal:
    if number == number.to_integral_value() and abs(number) < 10**18:
        return int(number)
    return number


def _numeric(op: str, a: Any, b: Any) -> Value:
    if isinstance(a, Money) or isinstance(b, Money):
        return _money(op, a, b)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        result = a * b
        return _tidy(result) if isinstance(result, Decimal) else result
    if b == 0:
        raise ProcessRuntimeError("cannot divide by zero")
    try:
        return _tidy(Decimal(a) / Decimal(b))
    except (InvalidOperation, DivisionByZero) as err:  # pragma: no cover - guarded above
        raise ProcessRuntimeError(f"cannot divide: {err}") from None


def _money(op: str, a: Any, b: Any) -> Value:
    if isinstance(a, Money) and isinstance(b, Money):
        if a.currency != b.currency:
            raise ProcessRuntimeError(f"cannot combine {a} and {b}: different currencies")
        if op in "+-":
            return Money(a.amount + b.amount if op == "+" else a.amount - b.amount, a.currency)
        if op == "/":
            if b.amount == 0:
                raise ProcessRuntimeError("cannot divide by zero")
            return _tidy(a.amount / b.amount)
        raise ProcessRuntimeError("cannot multiply money by money")
    if isinstance(a, Money):
        amount = _numeric(op, a.amount, Decimal(b))
        return Money(Decimal(amount), a.currency)
    if op == "/":
        raise ProcessRuntimeError("cannot divide a number by money")
    amount = _numeric(op, Decimal(a), b.amount)
    return Money(Decimal(amount), b.currency)


def add_duration(when: dt.date, duration: Duration, sign: int) -> dt.date:
    amount = duration.amount * sign
    unit = duration.unit
    if unit in ("months", "years"):
        months = int(amount) * (12 if unit == "years" else 1)
        total = when.month - 1 + months
        year, month = when.year + total // 12, total % 12 + 1
        day = min(when.day, calendar.monthrange(year, month)[1])
        return when.replace(year=year, month=month, day=day)
    seconds = {"days": 86400, "weeks": 7 * 86400, "hours": 3600, "minutes": 60}[unit]
    delta = dt.timedelta(seconds=float(amount) * seconds)
    if not isinstance(when, dt.datetime) and unit in ("days", "weeks"):
        return when + dt.timedelta(days=delta.days)
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time())
    return when + delta


def arithmetic(op: str, a: Value, b: Value) -> Value:
    """``a op b`` for + - * /; raises ProcessRuntimeError with a readable message."""
    x, y = number_of(a), number_of(b)
    if x is not None and y is not None:
        return _numeric(op, x, y)
    if isinstance(a, dt.date) and op in "+-":
        if isinstance(b, Duration):
            return add_duration(a, b, 1 if op == "+" else -1)
        if y is not None and not isinstance(y, Money):
            return add_duration(a, Duration(y, "days"), 1 if op == "+" else -1)
        if op == "-" and isinstance(b, dt.date):
            left = a if isinstance(a, dt.datetime) else dt.datetime.combine(a, dt.time())
            right = b if isinstance(b, dt.datetime) else dt.datetime.combine(b, dt.time())
            return (left - right).days
    if op == "+":
        if isinstance(a, list):
            return [*a, *b] if isinstance(b, list) else [*a, b]
        if isinstance(a, str) or isinstance(b, str):
            return to_text(a) + to_text(b)
    words = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]
    raise ProcessRuntimeError(
        f"cannot {words} {type_name(a)} ({to_text(a)[:40]}) and {type_name(b)} ({to_text(b)[:40]})"
    )


def truthy(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_TEXT:
            return True
        return text not in _FALSE_TEXT
    if value is NOT_FOUND or value is None:
        return False
    if is_number(value):
        return value != 0
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


def _as_date(value: Value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return to_date(value)
        except ConversionError:
            return None
    return None


def equals(a: Value, b: Value) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        if a.strip().casefold() == b.strip().casefold():
            return True
        x, y = parse_number(a), parse_number(b)
        return x is not None and y is not None and _num_eq(x, y)
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        other = b if isinstance(a, bool) else a
        flag = a if isinstance(a, bool) else b
        if isinstance(other, str) and other.strip().lower() in _TRUE_TEXT | _FALSE_TEXT:
            return truthy(other) == flag
        return False
    x, y = number_of(a), number_of(b)
    if x is not None and y is not None:
        return _num_eq(x, y)
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        da, db = _as_date(a), _as_date(b)
        return da is not None and da == db
    if a is NOT_FOUND or b is NOT_FOUND:
        return is_empty(a) and is_empty(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _num_eq(x: Any, y: Any) -> bool:
    xa = x.amount if isinstance(x, Money) else x
    ya = y.amount if isinstance(y, Money) else y
    return bool(xa == ya)


def order(a: Value, b: Value) -> int:
    """-1, 0 or 1; raises ProcessRuntimeError for values that have no order between them."""
    x, y = number_of(a), number_of(b)
    if x is not None and y is not None:
        xa = x.amount if isinstance(x, Money) else x
        ya = y.amount if isinstance(y, Money) else y
        return (xa > ya) - (xa < ya)
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        da, db = _as_date(a), _as_date(b)
        if da is not None and db is not None:
            if isinstance(da, dt.datetime) != isinstance(db, dt.datetime):
                da = da if isinstance(da, dt.datetime) else dt.datetime.combine(da, dt.time())
                db = db if isinstance(db, dt.datetime) else dt.datetime.combine(db, dt.time())
            return (da > db) - (da < db)  # type: ignore[operator]
    if isinstance(a, str) and isinstance(b, str):
        fa, fb = a.casefold(), b.casefold()
        return (fa > fb) - (fa < fb)
    raise ProcessRuntimeError(
        f"cannot compare {type_name(a)} ({to_text(a)[:40]}) with {type_name(b)} ({to_text(b)[:40]})"
    )


def contains(container: Value, item: Value) -> bool:
    if isinstance(container, str):
        return to_text(item).casefold() in container.casefold()
    if isinstance(container, list):
        return any(equals(element, item) for element in container)
    if isinstance(container, dict):
        return get_field(container, to_text(item)) is not NOT_FOUND
    if container is NOT_FOUND:
        return False
    raise ProcessRuntimeError(f"{type_name(container)} cannot contain anything")


def compare(op: str, a: Value, b: Value) -> bool:
    if op == "=":
        return equals(a, b)
    if op == "!=":
        return not equals(a, b)
    if op == "contains":
        return contains(a, b)
    if op == "starts":
        return to_text(a).casefold().startswith(to_text(b).casefold())
    if op == "ends":
        return to_text(a).casefold().endswith(to_text(b).casefold())
    if op == "empty":
        return is_empty(a)
    if a is NOT_FOUND or b is NOT_FOUND:
        return False  # a missing value is neither smaller nor greater than anything
    sign = order(a, b)
    return {"<": sign < 0, ">": sign > 0, "<=": sign <= 0, ">=": sign >= 0}[op]


# --- conversions -----------------------------------------------------------------------------

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)


def to_date(value: Value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    text = to_text(value).strip()
    try:
        return (
            dt.datetime.fromisoformat(text) if ("T" in text or ":" in text) else dt.date.fromisoformat(text)
        )
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ConversionError(f'"{text[:60]}" is not a date')


def to_number(value: Value) -> Value:
    number = number_of(value)
    if number is None:
        raise ConversionError(f'"{to_text(value)[:60]}" is not a number')
    return number


def convert(value: Value, kind: str) -> Value:
    if kind == "text":
        return to_text(value)
    if kind == "number":
        return to_number(value)
    return to_date(value)


# --- lists -----------------------------------------------------------------------------------


def items_of(value: Value) -> list[Value]:
    """What ``process each`` goes through: a list's items; Not Found gives none; anything else is one item."""
    if isinstance(value, list):
        return value
    if value is NOT_FOUND:
        return []
    return [value]


def aggregate(function: str, value: Value) -> Value:
    if function in ("count", "length") and isinstance(value, str):
        return len(value)
    values = items_of(value)
    if function in ("count", "length"):
        return len(values)
    if function == "sum" or function == "average":
        total: Value = 0
        for item in values:
            total = arithmetic("+", total, to_number(item))
        if function == "sum":
            return total
        if not values:
            raise ProcessRuntimeError("cannot average an empty list")
        return arithmetic("/", total, len(values))
    if not values:
        raise ProcessRuntimeError(f"the {function} of an empty list does not exist")
    best = values[0]
    for item in values[1:]:
        sign = order(item, best)
        if (function == "minimum" and sign < 0) or (function == "maximum" and sign > 0):
            best = item
    return best


_SPLITTERS = {
    "line": lambda text: text.splitlines(),
    "word": lambda text: text.split(),
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
        return {"amount": _tidy(value.amount), "currency": value.currency}.get(key, NOT_FOUND)
    if isinstance(value, dt.date):
        parts = {"year": value.year, "month": value.month, "day": value.day, "weekday": value.strftime("%A")}
        return parts.get(key, NOT_FOUND)
    if isinstance(value, str) and key == "length":
        return len(value)
    return NOT_FOUND


def whose(source: Value, field: str, op: str, expected: Value) -> list[Value]:
    negate = op.startswith("!")
    op = op.lstrip("!")
    return [item for item in items_of(source) if compare(op, field_of(item, field), expected) != negate]


def describe_number(value: Value) -> str:
    return format_number(value) if is_number(value) else to_text(value)
