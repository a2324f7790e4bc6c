"""An invoice's facts: number, dates, vendor, amounts and line items, whatever its layout.

Each fact comes from the labelled fields (:mod:`.fields`) by what their labels mean, the most
specific label first (``Amount Due`` before ``Total`` before ``Balance``; ``Invoice Date`` before
``Date``). The vendor is a ``From:``/``Vendor:`` field or, as on most invoices, the name at the top
of the first page in the largest type that is not a heading, an address or the customer's block.
The line items are the first table with a description and an amount column, its columns named
``description``, ``quantity``, ``unit price`` and ``amount`` (other columns keep their headings),
their prices in the invoice's currency.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from plainrun.books.documents.fields import LABELS, Found, label_key, synonyms
from plainrun.books.documents.layout import Segment
from plainrun.books.documents.normalise import amount_in, cell_value, find_date
from plainrun.books.documents.reading import Document
from plainrun.books.documents.tables import Table, headings
from plainrun.language.values import Money

COLUMNS: dict[str, tuple[str, ...]] = {
    "description": synonyms(
        "description, item, items, item description, product, products, service, services, details, "
        "particulars, article, designation, activity, product description, description of services"
    ),
    "quantity": synonyms("qty, quantity, units, hours, hrs, qty hrs, no of units, count, pcs, units hours"),
    "unit price": synonyms(
        "unit price, price, rate, unit cost, price unit, each, unit, cost, price per unit, unit rate, "
        "rate hr, hourly rate"
    ),
    "amount": synonyms(
        "amount, total, line total, ext price, extended, extended price, net, value, sum, subtotal, "
        "amount usd, amount eur, total price, net amount, line amount"
    ),
}
_COLUMN_OF = {synonym: name for name, synonyms in COLUMNS.items() for synonym in synonyms}
_INVOICE_NUMBER = re.compile(
    r"\binvoice\s*(?:no\.?|number|num\.?|#|id)?\s*[:#.]?\s*([A-Z0-9][A-Z0-9/_.-]*\d[A-Z0-9/_.-]*)",
    re.IGNORECASE,
)
_HEADINGS = re.compile(
    r"\b(invoice|receipt|statement|bill|quote|quotation|credit note|page)\b", re.IGNORECASE
)
_COMPANY = re.compile(
    r"\b(ltd|limited|inc|llc|llp|gmbh|ag|co|corp|corporation|company|plc|pty|sa|sarl|bv|nv|srl|group|"
    r"services|solutions|consulting|industries|traders|trading|partners|studio|supplies|labs)\b\.?",
    re.IGNORECASE,
)


def _ranked(found: Sequence[Found], field: str) -> list[Found]:
    """The fields that name ``field``, the most specific label first, then top to bottom."""
    synonyms = LABELS[field]
    matches = [item for item in found if item.field == field]
    return sorted(matches, key=lambda item: (synonyms.index(item.key), item.line))


def _number(found: Sequence[Found], text: str) -> str | None:
    for item in _ranked(found, "invoice number"):
        for token in item.text.replace(":", " ").split():
            token = token.strip("#.,;")
            if re.search(r"\d", token) and find_date(token) is None:
                return token
    match = _INVOICE_NUMBER.search(text)
    return match.group(1).rstrip(".") if match else None


def _date(found: Sequence[Found], field: str, document: Document) -> Any:
    for item in _ranked(found, field):
        date = find_date(item.text, document.order)
        if date is not None:
            return date
    return None


def _amount(found: Sequence[Found], field: str) -> Money | Decimal | int | None:
    ranked = _ranked(found, field)
    if field == "total" and ranked:
        best = LABELS[field].index(ranked[0].key)
        ranked = sorted((i for i in ranked if LABELS[field].index(i.key) == best), key=lambda i: -i.line)
    for item in ranked:
        amount = amount_in(item.text)
        if amount is not None:
            return amount
    return None


def _vendor(document: Document) -> str | None:
    for item in _ranked(document.found, "vendor"):
        if "@" not in item.text and re.search(r"[^\W\d_]{2}", item.text):
            return item.text.strip()
    if not document.pages or not document.pages[0].lines:
        return None
    lines = document.pages[0].lines
    bottom = max(line.bottom for line in lines)
    customer = [(item.line, item.x) for item in document.found if item.field == "customer"]
    best: tuple[float, str] | None = None
    for index, line in enumerate(lines):
        if line.top > 0.4 * bottom and best is not None:
            break
        for segment in line.segments:
            if not _could_be_vendor(segment) or _under(customer, index, segment):
                continue
            score = segment.height * (1.35 if _COMPANY.search(segment.text) else 1.0) - 0.001 * line.top
            if best is None or score > best[0]:
                best = (score, segment.text)
    return best[1] if best else None


def _could_be_vendor(segment: Segment) -> bool:
    text = segment.text
    letters = sum(c.isalpha() for c in text)
    digits = sum(c.isdigit() for c in text)
    return (
        letters >= 3
        and digits * 3 < letters
        and ":" not in text
        and "@" not in text
        and not re.search(r"www\.|https?:|\.com\b", text, re.IGNORECASE)
        and not _HEADINGS.search(text)
        and label_key(text) not in _KNOWN_LABELS
    )


_KNOWN_LABELS = {synonym for synonyms in LABELS.values() for synonym in synonyms} | set(_COLUMN_OF)


def _under(customer: list[tuple[int, float]], index: int, segment: Segment) -> bool:
    """Whether the segment is in the block of lines under a ``Bill To`` label."""
    return any(0 <= index - line <= 5 and abs(segment.x0 - x) < 60 for line, x in customer)


def _priced(item: dict[str, Any], currency: str | None) -> dict[str, Any]:
    """The item's prices in the invoice's currency, where they are written as plain numbers."""
    if currency is None:
        return item
    for key in ("unit price", "amount"):
        value = item.get(key)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            item[key] = Money(Decimal(value), currency)
    return item


def _line_items(tables: Sequence[Table], document: Document, currency: str | None) -> list[dict[str, Any]]:
    for table in tables:
        names = headings(table.header)
        canonical = [_COLUMN_OF.get(label_key(name)) for name in names]
        if "description" not in canonical or not {"amount", "unit price"} & set(canonical):
            continue
        keys = [
            c if c and canonical.index(c) == i else name
            for i, (c, name) in enumerate(zip(canonical, names, strict=True))
        ]
        items = []
        for row in table.value(document.order):
            item = {key: row[name] for key, name in zip(keys, names, strict=True)}
            if _is_totals_row(item):
                continue
            items.append(_priced(item, currency))
        return items
    return []


def _is_totals_row(item: dict[str, Any]) -> bool:
    description = item.get("description")
    if isinstance(description, str) and description.strip():
        words = label_key(description)
        return any(words.startswith(s) for s in ("subtotal", "sub total", "total", "tax", "vat", "balance"))
    return True


def invoice(document: Document) -> dict[str, Any]:
    """The invoice's facts as a record (a fact not found is left out)."""
    found = document.found
    total = _amount(found, "total")
    currency = total.currency if isinstance(total, Money) else _currency(document.text)
    record: dict[str, Any] = {
        "invoice number": _number(found, document.text),
        "invoice date": _date(found, "invoice date", document),
        "due date": _date(found, "due date", document),
        "vendor": _vendor(document),
        "customer": next((cell_value(i.text) for i in _ranked(found, "customer")), None),
        "po number": next((i.text.split()[0] for i in _ranked(found, "po number")), None),
        "subtotal": _amount(found, "subtotal"),
        "tax": _amount(found, "tax"),
        "total": total,
        "currency": currency,
        "line items": _line_items(document.tables, document, currency),
        "pages": len(document.pages),
    }
    if document.confidence is not None:
        record["confidence"] = Decimal(str(round(document.confidence, 1)))
    return {key: value for key, value in record.items() if value is not None}


def _currency(text: str) -> str | None:
    for symbol in ("€", "£", "$", "¥"):
        if symbol in text:
            return symbol
    return None
