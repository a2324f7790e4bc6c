"""Converting values: ``convert the X to text / number / date``, and reading text as a date."""

from __future__ import annotations

import datetime as dt

from plainrun.language.arithmetic import number_of
from plainrun.language.errors import ConversionError
from plainrun.language.values import Value, to_text

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


def as_date(value: Value) -> dt.date | None:
    """The value as a date or date-time when it is or reads as one; else None."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not any(ch.isdigit() for ch in value[:12]):
        return None
    text = value.strip()
    try:
        if "T" in text or ":" in text:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def to_date(value: Value) -> dt.date:
    date = as_date(value)
    if date is None:
        raise ConversionError(f'"{to_text(value).strip()[:60]}" is not a date')
    return date


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
