"""The values a process works with, and how each one round-trips through JSON.

=========  ====================================  ==========================================
value      Python                                JSON
=========  ====================================  ==========================================
text       ``str``                               a string
number     ``int`` or ``Decimal``                a number / ``{"$t": "dec"|"int", "v": "1.5"}``
money      ``Money(amount, currency)``           ``{"$t": "money", "v": "120.20", "c": "$"}``
percent    ``Percent(points)``: ``2%``            ``{"$t": "pct", "v": "2"}``
boolean    ``bool``                              true / false
date       ``datetime.date`` / ``datetime``      ``{"$t": "date"|"datetime", "v": iso}``
duration   ``Duration(amount, unit)``            ``{"$t": "duration", ...}``
list       ``list``                              a list
record     ``dict`` (field name -> value)        ``{"$t": "record", "v": {...}}``
table      a ``list`` of records                 a list of records (``{"$t": "table", "v": [...]}``
                                                 when every name and value is text)
file       ``FileRef``                           ``{"$t": "file", ...}``
not found  ``NOT_FOUND``                         ``{"$t": "notfound"}``
=========  ====================================  ==========================================

Numbers are exact: a literal with a fraction is a ``Decimal`` (so 0.1 + 0.2 is 0.3), whole numbers
are ``int``; a float that arrives from outside is turned into a Decimal through its shortest text.
Whole numbers stay exact up to ``storable.MAX_DIGITS`` (4,000) digits, what every store keeps: a
magnitude of ``MAX_NUMBER`` (10^4000) or more stops arithmetic with an error. Sums, differences
and products are exact (``EXACT``, a decimal context wide enough for any two numbers of the
language); a quotient is exact when it is whole, else it keeps 28 significant digits and every
digit of its whole part. Money keeps cents (yen: whole units), rounded half up as people round; a
percentage is its points (``2%``), 0.02 in arithmetic.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from functools import lru_cache
from itertools import chain
from typing import Any

from plainrun.domain import storable
from plainrun.language.errors import ProcessRuntimeError
from plainrun.language.names import normalise, variants

Value = Any
Number = int | Decimal
MAX_NUMBER = 10**storable.MAX_DIGITS
#: The context of the language's decimal arithmetic: room for every digit of a product of two of
#: its numbers (so + - * never round), and an error rather than an infinity or a NaN.
EXACT = Context(
    prec=4 * storable.MAX_DIGITS,
    Emax=4 * storable.MAX_DIGITS,
    Emin=-4 * storable.MAX_DIGITS,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_INT64 = 2**63


class NotFoundType:
    """What ``find`` yields when nothing is there; empty and false."""

    _instance: NotFoundType | None = None

    def __new__(cls) -> NotFoundType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_FOUND"

    def __str__(self) -> str:
        return "Not Found"


NOT_FOUND = NotFoundType()

CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


@dataclass(frozen=True, slots=True)
class Money:
    """An amount with its currency symbol, as written: ``$120.20``."""

    amount: Decimal
    currency: str = "$"

    def __str__(self) -> str:
        sign = "-" if self.amount < 0 else ""
        places = 0 if self.currency == "¥" else 2
        return f"{sign}{self.currency}{cents(abs(self.amount), self.currency):,.{places}f}"


def cents(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's smallest unit (a cent; a yen)."""
    unit = Decimal(1) if currency == "¥" else Decimal("0.01")
    try:
        return amount.quantize(unit, rounding=ROUND_HALF_UP, context=EXACT)
    except InvalidOperation:  # more digits than the context holds: already past MAX_NUMBER
        return amount


def money(amount: Decimal, currency: str) -> Money:
    """The result of arithmetic on money: kept to the cent, as it prints."""
    return Money(cents(amount, currency), currency)


@dataclass(frozen=True, slots=True)
class Percent:
    """A percentage as written: ``2%`` prints as 2% and is 0.02 in arithmetic."""

    points: Number

    @property
    def fraction(self) -> Decimal:
        return EXACT.divide(Decimal(self.points), 100)

    def __str__(self) -> str:
        return f"{format_number(self.points)}%"


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time such as ``5 days``; units are days, weeks, months, years, hours, minutes."""

    amount: Number
    unit: str

    def __str__(self) -> str:
        return f"{format_number(self.amount)} {self.unit}"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file known to the environment by its id."""

    id: str
    name: str
    size: int = 0
    content_type: str = "application/octet-stream"

    def __str__(self) -> str:
        return self.name


def is_number(value: Value) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


_PLAIN_NUMBER = re.compile(r"-?\d{1,24}(\.\d{1,24})?")
_NUMBER_TEXT = re.compile(
    r"^\s*(-)?\s*([$€£¥])?\s*(-)?\s*"  # a sign and a currency, in either order
    r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"  # 1,000.50 / 1000.5 / .5
    r"\s*([$€£¥%])?\s*$"
)
_LEADING_ZERO = re.compile(r"^\s*-?\s*[$€£¥]?\s*0\d")


@lru_cache(maxsize=4096)
def parse_number(text: str) -> Number | Money | Percent | None:
    """``"1,000.50"`` -> Decimal('1000.50'); ``"$120.20"`` -> Money; ``"2%"`` -> Percent; else None.

    Cached: a loop over a table reads the same cell in more than one statement.
    """
    if _PLAIN_NUMBER.fullmatch(text) is not None:  # the common case, without the full pattern
        return int(text) if "." not in text else Decimal(text)
    match = _NUMBER_TEXT.match(text)
    if match is None:
        return None
    minus_a, currency, minus_b, digits, after = match.groups()
    digits = digits.replace(",", "")
    whole, _, fraction = digits.partition(".")
    if len(whole) > storable.MAX_DIGITS or len(fraction) > storable.MAX_DIGITS:
        return None  # beyond the language's numbers (MAX_NUMBER): text
    number: Number = int(digits) if not fraction else Decimal(digits)
    if minus_a or minus_b:
        number = -number if isinstance(number, int) else number.copy_negate()  # exact, as written
    if after == "%":
        return None if currency else Percent(number)
    symbol = currency or after
    if symbol:
        return Money(Decimal(number), symbol)
    return number


def reads_as_identifier(text: str) -> bool:
    """Digits with a leading zero (``"007"``, ``"02134"``) are a code, not a number, when compared."""
    return _LEADING_ZERO.match(text) is not None


def from_python_number(value: float) -> Number:
    """A float from outside (an API input, a JSON document, a book) as an exact number; an
    infinity or NaN is an error of the step that met it."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ProcessRuntimeError(
            f"the number {value} is not finite (a number beyond about 1.8e308, or not a number at all)"
        )
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return Decimal(repr(value))


def json_fraction(text: str) -> Decimal:
    """A number with a fraction or an exponent in a JSON document a process reads, every digit of
    it (``json.loads(text, parse_float=json_fraction)``; a float would round it to a double); one
    of the language's numbers, or an error of the step that read it."""
    number = Decimal(text)
    if number and number.adjusted() >= storable.MAX_DIGITS:
        raise ProcessRuntimeError(
            f"the number {text[:40]} is larger than the language's numbers go (10^{storable.MAX_DIGITS})"
        )
    return number


def format_number(value: Number) -> str:
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # past Python's 4,300 digits; the language's own numbers never get here
            return f"{Decimal(value):E}"
    if value == value.to_integral_value() and abs(value) < 10**15:
        return str(int(value))
    text = format(value, "f")  # not normalize(), which rounds to the context's 28 digits
    return text.rstrip("0").rstrip(".") if "." in text else text


def to_text(value: Value) -> str:
    """How a value reads in a sentence: ``say``, interpolation, ``convert … to text``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return format_number(value)
    if isinstance(value, float):
        return format_number(from_python_number(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(to_text(item) for item in value)
    if isinstance(value, dict):
        return json_text(value)
    if value is None:
        return ""
    return str(value)


#: Marks a number's digits while ``json_text`` writes them (unique to this process: no text holds it).
_MARK = f"\x00{secrets.token_hex(8)}:"
_MARKED = re.compile(f'"\\\\u0000{_MARK[1:]}([^"]*)"')


def json_text(value: Value) -> str:
    """``value`` as JSON text, the data of ``to_plain`` with every number to its last digit: a
    number with a fraction that the nearest double (``to_plain``'s, for the API's outputs) would
    round is written as the language holds it."""
    text = json.dumps(_exact_plain(value), ensure_ascii=False)
    return _MARKED.sub(lambda found: found.group(1), text) if _MARK[1:] in text else text


def _exact_plain(value: Value) -> Any:
    if isinstance(value, dict):
        return {str(key): _exact_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_exact_plain(item) for item in value]
    plain = to_plain(value)
    return _MARK + format_number(_number(value)) if _rounded(value, plain) else plain


def input_value(value: Value) -> Any:
    """``value`` as another run's input (a child run's): ``to_plain``'s, except that a number the
    nearest double would round is its text to the last digit, which the language reads back as the
    very number (so a re-run of that run computes what it did)."""
    plain = to_plain(value)
    if not _rounded(value, plain):
        return plain
    return str(value) if isinstance(value, Money) else format_number(_number(value))


def _number(value: Value) -> Any:
    return value.amount if isinstance(value, Money) else value


def _rounded(value: Value, plain: Any) -> bool:
    """Whether ``plain``, ``to_plain``'s double of ``value``, lost digits of it."""
    number = _number(value)
    return isinstance(plain, float) and isinstance(number, Decimal) and Decimal(repr(plain)) != number


def to_plain(value: Value) -> Any:
    """A value as plain JSON data for people and other programs (not for resuming)."""
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | Decimal | float):
        return output_value(value)
    if isinstance(value, Money):
        return _double(value.amount)
    if isinstance(value, FileRef):
        return {"id": value.id, "name": value.name, "size": value.size, "content_type": value.content_type}
    return to_text(value)  # dates, durations, percentages (2%), Not Found


def output_value(value: Value) -> str | int | float:
    """A run output's value, which the API allows to be text, an integer or a float.

    Whole numbers become ``int`` (kept exactly at any size the store keeps, text beyond that), other
    numbers and money amounts ``float``; percentages their text (``"2%"``); booleans ``"true"``/``"false"``;
    dates ISO text; a file its id; lists of plain values ``"a, b, c"``;
    records and tables JSON text; ``Not Found`` the text ``"Not Found"``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value if storable.number_problem(value) is None else to_text(value)
    if isinstance(value, Decimal):
        if (
            value.is_finite()
            and value.adjusted() < storable.MAX_DIGITS
            and value == value.to_integral_value()
        ):
            return int(value)  # exact, as whole numbers are
        return _double(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else to_text(value)
    if isinstance(value, Money):
        return _double(value.amount)
    if isinstance(value, FileRef):
        return value.id
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        return json_text(value)
    return to_text(value)


def _double(number: Decimal) -> float | str:
    """A number with a fraction as the API's outputs carry it: the nearest 64-bit double, or its
    text when it is beyond the doubles (about 1.8e308)."""
    nearest = float(number)
    return nearest if math.isfinite(nearest) else to_text(number)


_PLAIN_JSON = (str, bool, type(None))


def is_text_table(rows: list[Any] | tuple[Any, ...]) -> bool:
    """Whether ``rows`` are records whose names and values are all text, as a CSV file's are.
    Tables are large, so this is checked in C, with one pass over the types of their cells."""
    if not rows or set(map(type, rows)) != {dict}:
        return False
    values = set(map(type, chain.from_iterable(map(dict.values, rows))))
    return values <= {str} and set(map(type, chain.from_iterable(rows))) <= {str}


def _all_text(items: Iterable[Any]) -> bool:
    """Whether every item is text. This runs for each row of a table, so it is checked in C:
    ``str.join`` takes nothing but text."""
    try:
        "".join(items)
    except TypeError:
        return False
    return True


def to_json(value: Value) -> Any:
    """A value as JSON data from which ``from_json`` rebuilds it exactly."""
    kind = type(value)
    if kind in _PLAIN_JSON:
        return value
    if kind is int:
        return value if -_INT64 < value < _INT64 else {"$t": "int", "v": str(value)}
    if kind is dict:
        if _all_text(value.values()):
            return {"$t": "record", "v": dict(value)}  # a row of text, as files give: copied in C
        return {"$t": "record", "v": {str(key): to_json(item) for key, item in value.items()}}
    if kind is list or kind is tuple:
        if is_text_table(value):  # the rows of a CSV file: copied in C, without a call per row
            return {"$t": "table", "v": [dict(row) for row in value]}
        return [to_json(item) for item in value]
    if isinstance(value, float):
        return to_json(from_python_number(value))
    if isinstance(value, Decimal):
        return {"$t": "dec", "v": str(value)}
    if isinstance(value, int):  # a subclass of int from a book (an IntEnum)
        return to_json(int(value))
    if isinstance(value, Percent):
        return {"$t": "pct", "v": to_json(value.points)}
    if isinstance(value, Money):
        return {"$t": "money", "v": str(value.amount), "c": value.currency}
    if isinstance(value, dt.datetime):
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, Duration):
        return {"$t": "duration", "v": to_json(value.amount), "u": value.unit}
    if isinstance(value, FileRef):
        return {
            "$t": "file",
            "id": value.id,
            "name": value.name,
            "size": value.size,
            "type": value.content_type,
        }
    if value is NOT_FOUND:
        return {"$t": "notfound"}
    raise ProcessRuntimeError("the value is of a kind that a run cannot keep (not text, a number, a date …)")


def from_json(data: Any) -> Value:
    """The inverse of ``to_json``."""
    if isinstance(data, list):
        return [from_json(item) for item in data]
    if not isinstance(data, dict):
        return from_python_number(data) if isinstance(data, float) else data
    tag = data.get("$t")
    if tag == "dec":
        return Decimal(data["v"])
    if tag == "int":
        return int(data["v"])
    if tag == "table":  # records of text only: nothing in them is a tag
        return [dict(row) for row in data["v"]]
    if tag == "pct":
        return Percent(from_json(data["v"]))
    if tag == "record":
        return {key: from_json(item) for key, item in data["v"].items()}
    if tag == "money":
        return Money(Decimal(data["v"]), data["c"])
    if tag == "datetime":
        return dt.datetime.fromisoformat(data["v"])
    if tag == "date":
        return dt.date.fromisoformat(data["v"])
    if tag == "duration":
        return Duration(from_json(data["v"]), data["u"])
    if tag == "file":
        return FileRef(data["id"], data["name"], data["size"], data["type"])
    if tag == "notfound":
        return NOT_FOUND
    # A plain JSON object that came from outside (an API input, a book's JSON): a record.
    return {key: from_json(item) for key, item in data.items()}


def from_outside(value: Any) -> Value:
    """A value from the API, a book or a JSON document, as a process value."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is dict:
        if _all_text(value.values()) and _all_text(value):
            return dict(value)  # a row of text, as files give: copied in C
        return {str(key): item if type(item) is str else from_outside(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        if is_text_table(value):
            return [dict(row) for row in value]
        return [from_outside(item) for item in value]
    if isinstance(value, float):
        return from_python_number(value)
    if isinstance(value, set | frozenset):
        return [from_outside(item) for item in sorted(value, key=str)]
    return value


def get_field(record: dict[str, Value], name: str) -> Value:
    """A record's field by name, case- and underscore-insensitively, singular or plural
    (``the invoices' amounts`` reads each invoice's ``amount``); NOT_FOUND when absent."""
    value = record.get(name, NOT_FOUND)
    if value is not NOT_FOUND:
        return value
    wanted = normalise(name)
    keys = {normalise(key): key for key in record}
    if wanted in keys:
        return record[keys[wanted]]
    for other in variants(wanted):
        if other in keys:
            return record[keys[other]]
    return NOT_FOUND


def set_field(record: dict[str, Value], name: str, value: Value) -> None:
    wanted = normalise(name)
    for key in record:
        if normalise(key) == wanted:
            record[key] = value
            return
    record[name] = value


def type_name(value: Value) -> str:
    """A value's kind in words, for messages."""
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | Decimal | float):
        return "a number"
    if isinstance(value, Money):
        return "an amount of money"
    if isinstance(value, Percent):
        return "a percentage"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a record"
    if isinstance(value, FileRef):
        return "a file"
    if isinstance(value, Duration):
        return "a duration"
    if value is NOT_FOUND:
        return "Not Found"
    return "a value"
