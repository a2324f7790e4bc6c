"""Dates: parse, format, shift and difference."""

from __future__ import annotations

import datetime as dt
import re

from plainrun.language.books import procedure
from plainrun.language.conversion import to_date

_TOKENS = {
    "YYYY": "%Y",
    "YY": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "DD": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
    "dddd": "%A",
    "ddd": "%a",
}
_TOKEN = re.compile("|".join(sorted(_TOKENS, key=len, reverse=True)))


@procedure("to parse a (text) as a date")
def parse_date(text: str, format: str | None = None) -> dt.date:
    if format:
        pattern = _TOKEN.sub(lambda m: _TOKENS[m.group()], format) if "%" not in format else format
        try:
            return dt.datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            raise ValueError(f'"{text.strip()}" is not a date in the format "{format}"') from None
    return to_date(text)


@procedure("to format a (date) as (pattern)")
def format_date(date: dt.date, pattern: str) -> str:
    """``pattern`` uses YYYY, MM, DD, MMMM (month name), HH, mm … or strftime's % codes."""
    strftime = _TOKEN.sub(lambda m: _TOKENS[m.group()], pattern) if "%" not in pattern else pattern
    return date.strftime(strftime)


@procedure("to shift a (date) by (days) days")
def shift(date: dt.date, days: int) -> dt.date:
    try:
        return date + dt.timedelta(days=days)
    except OverflowError:
        raise ValueError(
            f"{date} moved by {days} days falls outside the calendar (years 1 to 9999)"
        ) from None


@procedure("to count the days from a (start) to an (end)")
def days_between(start: dt.date, end: dt.date) -> int:
    def as_date(value: dt.date) -> dt.date:
        return value.date() if isinstance(value, dt.datetime) else value

    return (as_date(end) - as_date(start)).days
