"""Checking a book procedure's arguments against its type hints, and converting them.

A value that reads as what the hint asks for is converted (``"1,000.50"`` for a ``Decimal``,
``2026-11-23`` text for a ``date``); anything else is refused with a message that says what the
parameter needs and what it got. A parameter typed ``FieldName`` takes a field name as written in
the line (``sort the invoices by due date``).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NewType

from plainrun.language.values import NOT_FOUND, FileRef, Money, Percent, parse_number, to_text

#: The type of a parameter that names a field of the items: ``sort the (items) by (field)``.
FieldName = NewType("FieldName", str)


def describe(hint: Any) -> str:
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        Decimal: "a number",
        bool: "yes or no",
        dt.date: "a date",
        dt.datetime: "a date-time",
        list: "a list",
        dict: "a record",
        FileRef: "a file",
        FieldName: "a field name",
    }
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(h) for h in typing.get_args(hint) if h is not type(None))
    return names.get(origin or hint, getattr(hint, "__name__", str(hint)))


Converted = tuple[bool, Any]
_REFUSED: Converted = (False, None)


def _text(value: Any) -> Converted:
    if isinstance(value, str):
        return True, value
    if isinstance(value, int | Decimal | Money | Percent | dt.date | bool):
        return True, to_text(value)
    return _REFUSED


def _number(value: Any, base: type) -> Converted:
    number = parse_number(value) if isinstance(value, str) else value
    if isinstance(number, Money):
        number = number.amount
    if isinstance(number, Percent):
        number = number.fraction
    if isinstance(number, bool) or not isinstance(number, int | Decimal | float):
        return _REFUSED
    if base is int:
        return (True, int(number)) if number == int(number) else _REFUSED
    return True, base(number)


def _date(value: Any) -> Converted:
    if isinstance(value, dt.date):
        return True, value
    if isinstance(value, str):
        try:
            return True, dt.date.fromisoformat(value.strip())
        except ValueError:
            return _REFUSED
    return _REFUSED


def convert_argument(value: Any, hint: Any) -> Converted:
    """(True, the value as the hint wants it) or (False, None)."""
    if hint is Any or hint is object:
        return True, value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            ok, converted = convert_argument(value, option)
            if ok:
                return True, converted
        return _REFUSED
    if hint is type(None):
        return (value is None or value is NOT_FOUND), None
    base = str if hint is FieldName else origin or hint
    if base is str:
        return _text(value)
    if base in (int, float, Decimal):
        return _number(value, base)
    if base is dt.date:
        return _date(value)
    if base is dt.datetime or base is bool or base is dict:
        return (True, value) if isinstance(value, base) else _REFUSED
    if base in (list, Sequence, Iterable):
        return (True, value) if isinstance(value, list) else _REFUSED
    if isinstance(base, type):
        return (True, value) if isinstance(value, base) else _REFUSED
    return True, value
