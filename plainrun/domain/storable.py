"""What every database (and every JSON encoder on the way) keeps: text without NUL characters or
lone surrogates, whole numbers of any size up to ``MAX_DIGITS`` digits, numbers with a fraction as
64-bit doubles (finite ones); and the one JSON codec (:func:`dumps`, :func:`loads`) that keeps them
so between the store, the executor processes and the API.

A value a client sends is checked with :func:`problem` and refused when it is not storable (a 400,
never a 500 from the database or the encoder). JSON text a client sends is read with
:func:`read_json`, which refuses a number a double does not hold as it is written
(``0.1000000000000000000001``, ``1e-400``) instead of rounding it. Text that arrives from outside
without a caller to refuse it (e-mail headers and bodies) is made storable with :func:`clean_text`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import orjson

#: Whole numbers are kept exactly at any size up to this many digits (JSON in both databases keeps
#: them; Python reads and writes at most 4,300 digits of one).
MAX_DIGITS = 4000
_MAX_WHOLE = 10**MAX_DIGITS
#: The whole numbers a 64-bit column or orjson holds: beyond them the codec takes the slow road.
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1
#: Deeper than this, a value is refused rather than walked (JSON bodies are bounded before this).
MAX_DEPTH = 64
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters are not allowed in text"
    return "text must be valid Unicode (a lone surrogate is not)"


def number_problem(value: int | float) -> str | None:
    """Why a number cannot be stored, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (
            None
            if -_MAX_WHOLE < value < _MAX_WHOLE
            else f"whole numbers may have at most {MAX_DIGITS} digits"
        )
    if math.isnan(value):
        return "NaN is not a number JSON can hold"
    if math.isinf(value):
        return "numbers must be finite (beyond about 1.8e308 a number is infinite as a double)"
    return None


def problem(value: Any) -> str | None:
    """Why a JSON-like value (text, numbers, lists, records at any depth, keys too) cannot be
    stored, or None when it can."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"values may be nested at most {MAX_DEPTH} deep"
        found = None
        if isinstance(item, str):
            found = text_problem(item)
        elif isinstance(item, int | float):
            found = number_problem(item)
        elif isinstance(item, Mapping):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        if found is not None:
            return found
    return None


class Unstorable(ValueError):
    """A value of JSON text that cannot be kept as it is written; the message says why."""


def fraction_problem(text: str, value: float) -> str | None:
    """Why the number written ``text`` (a JSON number with a fraction or an exponent), read as the
    double ``value``, cannot be kept, or None: numbers with a fraction are kept as 64-bit doubles,
    so the double, written back in its shortest form, must be the very number the text says."""
    if not math.isfinite(value):
        return number_problem(value)
    try:
        same = Decimal(repr(value)) == Decimal(text)
    except (InvalidOperation, ValueError):  # an exponent beyond what a Decimal holds
        same = False
    if same:
        return None
    shown = text if len(text) <= 60 else text[:57] + "..."
    return f"numbers with a fraction are kept as 64-bit doubles: {shown} would become {value!r}"


def _read_float(text: str) -> float:
    value = float(text)
    found = fraction_problem(text, value)
    if found is not None:
        raise Unstorable(found)
    return value


def _read_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_DIGITS:
        raise Unstorable(f"whole numbers may have at most {MAX_DIGITS} digits")
    return int(text)


def _read_constant(name: str) -> NoReturn:
    raise Unstorable(number_problem(math.nan if name == "NaN" else math.inf))


#: Where JSON text may hold a number that is not kept as written: a number of 16 digits and points
#: or more (a double holds any of 15 significant digits), or one with an exponent; and NaN or an
#: infinity. Text in strings may match too: it then only costs the careful reading.
_MAY_LOSE = re.compile(rb"[:,\[]\s*-?(?:[0-9.]{16}|[0-9.]+[eE]|[NI])")
#: The quick look before it, in C without a regular expression: the body with every digit and point
#: as ``0``, ``E`` as ``e``, ``,`` and ``[`` as ``:``, ``I`` as ``N``, and no white space or minus
#: signs, holds one of ``_SIGNS`` wherever ``_MAY_LOSE`` would match (ids of digits and letters hold
#: ``0e`` now and then: the search then decides).
_QUICK = bytes.maketrans(b"0123456789.E,[I", b"00000000000e::N")
_QUICK_DROP = b" \t\r\n-"
_LONG_RUN = b"0" * 16
_BARE = (b"0", b"N")


def may_lose(raw: bytes) -> bool:
    """Whether JSON text may hold a number that :func:`read_json` must read digit by digit (a
    look in C over the bytes: most request bodies have none). A body that is one bare number is
    always looked at."""
    quick = raw.translate(_QUICK, _QUICK_DROP)
    if quick[:1] in _BARE:
        return True
    if _LONG_RUN in quick or b"0e" in quick or b":N" in quick:
        return _MAY_LOSE.search(raw) is not None
    return False


def plain_json(raw: bytes) -> bool:
    """Whether JSON text surely holds nothing :func:`problem` would find in its value and no number
    :func:`read_json` must read digit by digit (:func:`may_lose`): no escape (``\\u``, which may
    be a NUL character or a lone surrogate), no NUL byte and no byte that starts a surrogate's
    UTF-8 form, and too few brackets to nest deeper than ``MAX_DEPTH``. A look in C over the bytes;
    False says only that the value is to be looked at."""
    return (
        b"\\u" not in raw
        and b"\x00" not in raw
        and b"\xed" not in raw
        and raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH
        and not may_lose(raw)
    )


def read_json(raw: bytes) -> Any:
    """The value of JSON text a client sent, every number kept exactly as written or refused with
    :class:`Unstorable` saying why: a whole number of more than ``MAX_DIGITS`` digits, a number with
    a fraction that a 64-bit double does not hold as written (``3.14159265358979323846264338``,
    ``1e-400``), one beyond the doubles (``1e400``), NaN. Malformed text raises ``ValueError``
    (``json.JSONDecodeError`` for JSON, ``UnicodeDecodeError`` for bytes that are no text). What
    else no database keeps (NUL characters, lone surrogates) is :func:`problem`'s to say, on the
    value this returns."""
    if not may_lose(raw):
        return json.loads(raw)
    return json.loads(raw, parse_float=_read_float, parse_int=_read_int, parse_constant=_read_constant)


def clean_text(text: str) -> str:
    """Text as it can be stored: bytes that were not UTF-8 (kept by a decoder as lone surrogates)
    are read as UTF-8 where they are, else replaced, and NUL characters are dropped."""
    if not _UNSTORABLE.search(text):
        return text
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        text = _SURROGATE.sub("\ufffd", text)
    return text.replace("\x00", "")


# --- the JSON codec -------------------------------------------------------------------------------

#: A run of digits this long may be a whole number orjson would read as a float (it reads 64 bits).
_LONG_DIGITS = re.compile(rb"\d{19}")


def dumps(value: Any) -> bytes:
    """JSON of a storable value (check it with :func:`problem` first: orjson writes NaN as null):
    orjson's, or the standard library's when a whole number is beyond 64 bits (orjson refuses those)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """The value of JSON text, whole numbers exact at any size (orjson reads those beyond 64 bits
    as floats, so text with a long run of digits is read by the standard library)."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_DIGITS.search(raw) is None:
        return orjson.loads(raw)
    return json.loads(bytes(raw))


def dumps_text(value: Any) -> str:
    """:func:`dumps` as text (the databases' JSON columns)."""
    return dumps(value).decode()


#: A float orjson writes with a positive exponent (``1e20``): PostgreSQL's jsonb keeps numbers as
#: decimals and writes that back as the whole number ``100000000000000000000``.
_POSITIVE_EXPONENT = re.compile(rb"[0-9][eE]\+?[0-9]")
#: How such a float is marked while it is written (no stored text holds a NUL character).
_SPELLED = re.compile(r'"\\u0000n(-?[0-9]+\.0)"')


def dumps_decimal_text(value: Any) -> str:
    """:func:`dumps_text` for a database that keeps JSON numbers as decimals (PostgreSQL's jsonb):
    floats of 1e16 and more are spelled out in full with a fraction, so that they come back floats."""
    out = dumps(value)
    if _POSITIVE_EXPONENT.search(out) is None:
        return out.decode()
    return _SPELLED.sub(lambda m: m.group(1), dumps(_spelled(value)).decode())


def _spelled(value: Any) -> Any:
    if isinstance(value, float):
        return f"\x00n{value:.1f}" if math.isfinite(value) and abs(value) >= 1e16 else value
    if isinstance(value, Mapping):
        return {key: _spelled(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_spelled(item) for item in value]
    return value
