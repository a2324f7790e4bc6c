"""Amounts and dates as written on documents, read into the language's numbers, money and dates.

Amounts: ``$1,250.00``, ``1.250,00 €``, ``EUR 1 250,00``, ``(1,250.00)`` and ``1,250.00-`` (negative),
``CHF 1'250.50``. Dates: ``2026-03-14``, ``14/03/2026`` and ``03/14/2026`` (the order is the
document's: see :func:`date_order`), ``14.03.2026``, ``14 March 2026``, ``March 14th, 2026``,
``14-Mar-26``. A cell's text becomes the value it reads as (:func:`cell_value`); identifiers such
as ``INV-0042`` or ``00123`` stay text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from plainrun.language.values import Money

DateOrder = Literal["DMY", "MDY"]

#: Currency codes written beside amounts, and the symbol a Money keeps for them.
CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "US$": "$"}
_SYMBOLS = "$€£¥"
_CURRENCY = r"(?:[$€£¥]|US\$|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|SEK|NOK|DKK|PLN|INR)\b)"
_AMOUNT = re.compile(
    rf"^(?P<open>\()?\s*(?P<sign>[-\u2212\u2013])?\s*(?P<cur>{_CURRENCY})?\s*(?P<sign2>[-\u2212\u2013])?\s*"
    r"(?P<digits>\d{1,3}(?:[,.' \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,4})?)"
    rf"\s*(?P<cur2>{_CURRENCY})?\s*(?P<close>\))?\s*(?P<trail>-)?$",
    re.IGNORECASE,
)
#: An amount somewhere in a text (the value after a label: ``Total Due $1,250.00 (incl. VAT)``).
AMOUNT_IN_TEXT = re.compile(
    rf"\(?[-\u2212\u2013]?\s*(?:{_CURRENCY}\s*)?[-\u2212\u2013]?\d+(?:[,.'\u202f]\d{{3}})*(?:[.,]\d{{2}})?"
    rf"(?:\s*{_CURRENCY})?\)?-?",
    re.IGNORECASE,
)


def parse_amount(text: str) -> Money | Decimal | int | None:
    """The number or money ``text`` writes, or None when it is not an amount."""
    match = _AMOUNT.match(_tidy(text.strip()))
    if match is None or (match["open"] is None) != (match["close"] is None):
        return None
    number = _digits(match["digits"])
    if number is None:
        return None
    negative = bool(match["open"] or match["sign"] or match["sign2"] or match["trail"])
    if negative:
        number = -number
    currency = match["cur"] or match["cur2"]
    if currency:
        return Money(Decimal(number), CODES.get(currency.upper(), currency.upper()))
    return number


_OCR_SPACES = re.compile(r"(?<=\d)\s+(?=[.,]\d)|(?<=\d[.,])\s+(?=\d\d(?:\d|\b))")


def _tidy(text: str) -> str:
    """OCR sets a space beside a separator now and then: ``6.781 ,90 €``, ``£47, 320.91``."""
    return _OCR_SPACES.sub("", text)


def _digits(digits: str) -> Decimal | int | None:
    """``1,250.00`` / ``1.250,00`` / ``1 250,5`` / ``1250`` as a number: the last separator followed
    by one or two digits is the decimal mark; a single separator followed by three is a thousands one."""
    cleaned = re.sub(r"[ '\u00a0\u202f]", "", digits)
    decimal_mark = None
    last = max(cleaned.rfind("."), cleaned.rfind(","))
    if last >= 0:
        tail = cleaned[last + 1 :]
        separators = set(re.findall(r"[.,]", cleaned))
        if len(tail) != 3 or len(separators) > 1 or cleaned[:last] == "0":
            decimal_mark = cleaned[last]
    if decimal_mark is None:
        whole = re.sub(r"[.,]", "", cleaned)
        return int(whole) if whole.isdigit() else None
    integer, fraction = cleaned[:last], cleaned[last + 1 :]
    integer = re.sub(r"[.,]", "", integer) or "0"
    try:
        return Decimal(f"{integer}.{fraction}")
    except InvalidOperation:
        return None


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})\b")
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?[\s.-]*({_MONTH})\.?,?[\s.-]*(\d{{4}}|\d{{2}})\b", re.I
)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)


def date_order(text: str) -> DateOrder:
    """Whether the numeric dates of a document put the day or the month first.

    A date whose first number is over 12 settles it for day first, one whose second is over 12 for
    month first; dotted dates (``14.03.2026``) are day first. With nothing to go by, a document in
    dollars reads month first and any other day first.
    """
    votes = {"DMY": 0, "MDY": 0}
    for first, separator, second, _ in _NUMERIC.findall(text):
        if int(first) > 12 or separator == ".":
            votes["DMY"] += 1
        elif int(second) > 12:
            votes["MDY"] += 1
    if votes["DMY"] != votes["MDY"]:
        return "DMY" if votes["DMY"] > votes["MDY"] else "MDY"
    return "MDY" if "$" in text and "€" not in text and "£" not in text else "DMY"


def parse_date(text: str, order: DateOrder = "DMY") -> dt.date | None:
    """The date ``text`` is (all of it, give or take punctuation), or None."""
    stripped = text.strip().strip(",;")
    for pattern in (_ISO, _NUMERIC, _DAY_MONTH, _MONTH_DAY):
        match = pattern.fullmatch(stripped)
        if match:
            return _date_of(pattern, match, order)
    return None


#: OCR splits "11" into "1 1" now and then: "03/1 1/2026".
_DATE_SPACES = re.compile(r"(?<=[/.-]\d)\s(?=\d[/.-])|(?<=\d)\s(?=\d[/.-]\d)")


def find_date(text: str, order: DateOrder = "DMY") -> dt.date | None:
    """The first date written anywhere in ``text``."""
    tidy = _DATE_SPACES.sub("", text)
    return _first_date(text, order) or (_first_date(tidy, order) if tidy != text else None)


def _first_date(text: str, order: DateOrder) -> dt.date | None:
    for pattern in (_ISO, _NUMERIC, _DAY_MONTH, _MONTH_DAY):
        for match in pattern.finditer(text):
            found = _date_of(pattern, match, order)
            if found is not None:
                return found
    return None


def _date_of(pattern: re.Pattern[str], match: re.Match[str], order: DateOrder) -> dt.date | None:
    groups = match.groups()
    if pattern is _ISO:
        year, month, day = (int(g) for g in groups)
    elif pattern is _NUMERIC:
        first, _, second, year_text = groups
        day, month = (int(first), int(second)) if order == "DMY" else (int(second), int(first))
        if month > 12 >= day:
            day, month = month, day
        year = _year(year_text)
    elif pattern is _DAY_MONTH:
        day, month, year = int(groups[0]), _MONTHS[groups[1].lower()], _year(groups[2])
    else:
        month, day, year = _MONTHS[groups[0].lower()], int(groups[1]), int(groups[2])
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


_IDENTIFIER = re.compile(r"^0\d|[A-Za-z].*\d|\d.*[A-Za-z]|^\d{6,}$")


def cell_value(text: str, order: DateOrder = "DMY") -> Any:
    """A table cell or field value as the value it reads as: a date, an amount, or the text itself."""
    stripped = " ".join(text.split())
    if not stripped:
        return ""
    date = parse_date(stripped, order)
    if date is not None:
        return date
    if _IDENTIFIER.search(stripped) and not any(s in stripped for s in _SYMBOLS) and not _has_code(stripped):
        return stripped
    amount = parse_amount(stripped)
    return stripped if amount is None else amount


def _has_code(text: str) -> bool:
    return re.search(_CURRENCY, text, re.IGNORECASE) is not None and parse_amount(text) is not None


def amount_in(text: str) -> Money | Decimal | int | None:
    """The last amount written in ``text`` (``Total (incl. VAT 20%) 1,250.00`` -> 1250.00)."""
    found = None
    for match in AMOUNT_IN_TEXT.finditer(_tidy(text)):
        candidate = parse_amount(match.group())
        if candidate is not None and re.search(r"\d", match.group()):
            found = candidate
    return found
