"""Arithmetic on process values: numbers, money, percentages, dates and durations.

Text that reads as a number (``"1,000.50"``, ``"$120.20"``, ``"2%"``) takes part as that number.
Money stays in cents; a percentage is its fraction (``2% * 100`` is 2) except where adding it
would have two readings (``100 + 5%``: 105 or 100.05?), which is an error that shows both. Dates
move by durations or days; two dates subtract to the days between them. Every failure is a
``ProcessRuntimeError`` whose message reads without knowing Python.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from plainrun.domain import storable
from plainrun.language.errors import ProcessRuntimeError
from plainrun.language.values import (
    EXACT,
    MAX_NUMBER,
    Duration,
    Money,
    Percent,
    Value,
    from_python_number,
    money,
    parse_number,
    to_text,
    type_name,
)

_PHRASES = {
    "+": "add {a} and {b}",
    "-": "subtract {b} from {a}",
    "*": "multiply {a} by {b}",
    "/": "divide {a} by {b}",
}


def number_of(value: Value) -> Any:
    """The value as a number (int, Decimal, Money or Percent) if it is or reads as one; else None."""
    kind = type(value)
    if kind is int or kind is Decimal:
        return value
    if kind is str:
        return parse_number(value)
    if kind is bool:
        return None
    if isinstance(value, int | Decimal | Money | Percent):
        return value
    if isinstance(value, float):
        return from_python_number(value)
    return None


def tidy(number: Decimal) -> int | Decimal:
    """A Decimal that is whole as an int."""
    if number == number.to_integral_value() and abs(number) < 10**18:
        return int(number)
    return number


#: The significant digits a quotient keeps when it is not whole (and not fewer than its whole part's).
QUOTIENT_DIGITS = 28
_TOO_LARGE = (
    f"the result has more than {storable.MAX_DIGITS} digits: larger than the language's numbers go"
    f" (10^{storable.MAX_DIGITS})"
)


def bounded(number: Any) -> Any:
    """``number``, if it stays within the language's numbers (below 10^4000, every digit of a
    whole number kept); else an error."""
    if isinstance(number, int):
        if -MAX_NUMBER < number < MAX_NUMBER:
            return number
    elif not number or (number.is_finite() and number.adjusted() < storable.MAX_DIGITS):
        return number
    raise ProcessRuntimeError(_TOO_LARGE)


def show(value: Value) -> str:
    """A value in a message: its kind and how it prints."""
    text = to_text(value)
    return (
        f'{type_name(value)} ("{text[:40]}")'
        if isinstance(value, str)
        else f"{type_name(value)} ({text[:40]})"
    )


def _plain(op: str, a: Any, b: Any) -> Value:
    if type(a) is int and type(b) is int and op != "/":
        return bounded(a + b if op == "+" else a - b if op == "-" else a * b)
    try:
        if op == "+":
            return bounded(EXACT.add(a, b))
        if op == "-":
            return bounded(EXACT.subtract(a, b))
        if op == "*":
            return bounded(tidy(EXACT.multiply(a, b)))
        return bounded(_divide(a, b))
    except (InvalidOperation, DivisionByZero):  # Overflow is an InvalidOperation
        raise ProcessRuntimeError(_TOO_LARGE) from None


def _divide(a: Any, b: Any) -> int | Decimal:
    """``a / b``: exact when the quotient is whole, else ``QUOTIENT_DIGITS`` significant digits and
    every digit of its whole part."""
    if b == 0:
        raise ProcessRuntimeError("cannot divide by zero")
    if type(a) is int and type(b) is int and a % b == 0:
        return a // b
    x, y = Decimal(a), Decimal(b)
    context = EXACT.copy()
    context.prec = max(QUOTIENT_DIGITS, x.adjusted() - y.adjusted() + 2)
    return tidy(context.divide(x, y))


def _money(op: str, a: Any, b: Any) -> Value:
    if isinstance(a, Money) and isinstance(b, Money):
        if a.currency != b.currency:
            raise ProcessRuntimeError(f"cannot combine {a} and {b}: different currencies")
        if op in "+-":
            return money(Decimal(_plain(op, a.amount, b.amount)), a.currency)
        if op == "/":
            return _plain("/", a.amount, b.amount)
        raise ProcessRuntimeError(f"cannot multiply money by money ({a} and {b})")
    if isinstance(a, Money):
        return money(Decimal(_plain(op, a.amount, Decimal(b))), a.currency)
    if op == "/":
        raise ProcessRuntimeError(f"cannot divide a number by money ({a} by {b})")
    return money(Decimal(_plain(op, Decimal(a), b.amount)), b.currency)


def _percent(op: str, a: Any, b: Any) -> Value:
    if isinstance(a, Percent) and isinstance(b, Percent):
        if op in "+-":
            return Percent(_plain(op, a.points, b.points))
        if op == "*":
            return Percent(_plain("/", _plain("*", a.points, b.points), 100))
        return _plain("/", a.points, b.points)
    if op == "*":
        return numeric(
            "*", a.fraction if isinstance(a, Percent) else a, b.fraction if isinstance(b, Percent) else b
        )
    if op == "/":
        if isinstance(a, Percent):
            return Percent(_plain("/", a.points, b.amount if isinstance(b, Money) else b))
        return numeric("/", a, b.fraction)
    number, percent = (a, b) if isinstance(b, Percent) else (b, a)
    if number == 0:  # a total of percentages starts at 0: 0 + 5% is 5%
        return Percent(_plain("-", 0, percent.points) if op == "-" and a is number else percent.points)
    if (number.amount if isinstance(number, Money) else number) == 1:
        return numeric(
            op, a.fraction if isinstance(a, Percent) else a, b.fraction if isinstance(b, Percent) else b
        )
    word = "adding" if op == "+" else "subtracting"
    sign = "+" if op == "+" else "-"
    if a is percent:
        raise ProcessRuntimeError(
            f"{a} {sign} {b} mixes a percentage with a number: write"
            f" {percent.fraction.normalize():f} {sign} {b} to use the percentage's fraction"
        )
    raise ProcessRuntimeError(
        f"{word} {percent} {'to' if op == '+' else 'from'} {number} has two readings: {number} * (1 {sign}"
        f" {percent}) changes it by {percent} of itself, {number} {sign} {percent.fraction.normalize():f}"
        " uses the fraction; write the one you mean"
    )


def numeric(op: str, a: Any, b: Any) -> Value:
    """``a op b`` for numbers, money and percentages."""
    if isinstance(a, Percent) or isinstance(b, Percent):
        return _percent(op, a, b)
    if isinstance(a, Money) or isinstance(b, Money):
        return _money(op, a, b)
    return _plain(op, a, b)


def add_duration(when: dt.date, duration: Duration, sign: int) -> dt.date:
    try:
        return _shift(when, duration, sign)
    except (OverflowError, ValueError):
        raise ProcessRuntimeError(
            f"{when} moved by {duration} falls outside the calendar (years 1 to 9999)"
        ) from None


def _days_in(year: int, month: int) -> int:
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _shift(when: dt.date, duration: Duration, sign: int) -> dt.date:
    amount = duration.amount * sign
    unit = duration.unit
    if unit in ("months", "years"):
        months = int(amount) * (12 if unit == "years" else 1)
        total = when.month - 1 + months
        year, month = when.year + total // 12, total % 12 + 1
        day = min(when.day, _days_in(year, month))
        return when.replace(year=year, month=month, day=day)
    seconds = {"days": 86400, "weeks": 7 * 86400, "hours": 3600, "minutes": 60}[unit]
    delta = dt.timedelta(seconds=float(amount) * seconds)
    if not isinstance(when, dt.datetime) and unit in ("days", "weeks"):
        return when + dt.timedelta(days=delta.days)
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time())
    return when + delta


def as_datetime(value: dt.date) -> dt.datetime:
    """``value`` as a date-time with a time zone, to compare or subtract: a date is its midnight,
    and a date-time written without a zone is read in UTC (the zone of the clock)."""
    when = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _dates(op: str, a: dt.date, b: Value, y: Any) -> Value:
    if isinstance(b, Duration):
        return add_duration(a, b, 1 if op == "+" else -1)
    if y is not None and not isinstance(y, Money | Percent) and op in "+-":
        return add_duration(a, Duration(y, "days"), 1 if op == "+" else -1)
    if op == "-" and isinstance(b, dt.date):
        elapsed = as_datetime(a) - as_datetime(b)
        return int(elapsed / dt.timedelta(days=1))  # whole days, towards zero
    return None


def _iso_date(value: Value) -> Value:
    """Text written as an ISO date or date-time (``2026-11-23``) as that date: an input from
    outside takes part in date arithmetic the way a number written as text does."""
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[:4].isdigit():
        try:
            text = value.strip().replace("Z", "+00:00")
            return dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
        except ValueError:
            return value
    return value


_EXACT = (int, Decimal)


def exact(value: Value) -> int | Decimal | None:
    """The value as an int or Decimal when it is one or is text of a plain number (the fast path
    of arithmetic and ordering); None for anything else, money and percentages included."""
    kind = type(value)
    if kind is int or kind is Decimal:
        return value  # type: ignore[no-any-return]
    if kind is str:
        number = parse_number(value)
        if isinstance(number, int | Decimal):  # not Money nor a Percent
            return number
    return None


def arithmetic(op: str, a: Value, b: Value) -> Value:
    """``a op b`` for + - * /; raises ProcessRuntimeError with a readable message."""
    x, y = exact(a), exact(b)
    if x is not None and y is not None:
        return _plain(op, x, y)
    x, y = number_of(a), number_of(b)
    if x is not None and y is not None:
        return numeric(op, x, y)
    if isinstance(a, dt.date) and (result := _dates(op, a, b, y)) is not None:
        return result
    if op == "+":
        if isinstance(a, list):
            return [*a, *b] if isinstance(b, list) else [*a, b]
        if isinstance(a, str) and isinstance(b, str):
            return a + b
    if (
        op in "+-"
        and isinstance(a, str | dt.date)
        and (isinstance(b, str | dt.date | Duration) or y is not None)
    ):
        da, db = _iso_date(a), _iso_date(b)
        if isinstance(da, dt.date) and (da is not a or db is not b):
            return arithmetic(op, da, db)
    raise ProcessRuntimeError("cannot " + _PHRASES[op].format(a=show(a), b=show(b)) + _why(a, b))


def _why(a: Value, b: Value) -> str:
    for value in (a, b):
        if (
            isinstance(value, str)
            and number_of(value) is None
            and number_of(b if value is a else a) is not None
        ):
            return f': "{value[:40]}" does not read as a number; to join texts write "{{…}}{{…}}"'
    return ""
