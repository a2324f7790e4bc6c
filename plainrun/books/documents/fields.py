"""Labelled fields: ``Invoice Number: A-17``, ``Total Due $1,250.00``, a label above its value.

Three shapes are read, from the lines and segments of :mod:`.layout` (so from text PDFs, scans and
plain texts alike):

* ``Label: value`` inside a segment, or ``Label:`` with its value in the next segment of the line
  or, when there is none, right below it;
* a known label (:data:`LABELS`) followed by its value without a colon (``Invoice No. INV-7``), or
  a segment of words alone on its line followed by one value (``Balance    $40.00``);
* a row of labels without colons over one row of values aligned under them (a second such row
  would make it a table, which :mod:`.tables` reads).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plainrun.books.documents.layout import Line, Segment
from plainrun.books.documents.normalise import DateOrder, amount_in, cell_value, find_date, parse_amount

#: Labels of invoices and orders by the field they name (written as :func:`label_key` gives them).


def synonyms(text: str) -> tuple[str, ...]:
    """``"a, b, c"`` as ``("a", "b", "c")``."""
    return tuple(part.strip() for part in text.split(","))


LABELS: dict[str, tuple[str, ...]] = {
    name: synonyms(words)
    for name, words in {
        "invoice number": "invoice number, invoice no, invoice #, invoice num, invoice id, inv no, inv #, "
        "invoice ref, bill number, bill no, invoice, number, no, #, document no",
        "invoice date": "invoice date, date, date of issue, issue date, issued, date issued, "
        "billing date, dated, invoice dated, issued on, tax point, date of invoice",
        "due date": "due date, payment due, due, due by, payment due date, pay by, date due",
        "vendor": "from, vendor, supplier, seller, bill from, sold by, vendor name, supplier name, "
        "issued by, "
        "payee",
        "customer": "bill to, billed to, customer, sold to, invoice to, client, ship to",
        "subtotal": "subtotal, sub total, net amount, net total, total before tax, total excl vat, "
        "total excl tax, amount before tax, net, total net",
        "tax": "tax, vat, sales tax, gst, tax amount, vat amount, total tax, total vat, hst",
        "total": "total due, amount due, balance due, grand total, invoice total, total amount, "
        "total payable, amount payable, total amount due, total incl vat, total incl tax, total to pay, "
        "amount to pay, please pay, total, balance, total gross",
        "po number": "po number, po, po #, purchase order, order number, order no, p o number",
    }.items()
}
_KNOWN = {synonym: name for name, synonyms in LABELS.items() for synonym in synonyms}
_KINDS = {"amount": ("subtotal", "tax", "total"), "date": ("invoice date", "due date")}
_IDENTIFIER_WORDS = {"number", "no", "#", "id", "ref", "reference", "code", "po", "account", "iban", "phone"}
_AMOUNT_WORDS = {
    "total",
    "amount",
    "subtotal",
    "tax",
    "vat",
    "balance",
    "price",
    "due",
    "net",
    "gross",
    "fee",
}
_DATE_WORDS = {"date", "dated", "issued", "due"}
_LABEL_TEXT = re.compile(r"^[^\W\d_][\w .#/()&'%-]{0,44}$")
COLON = re.compile(r"(?:^|(?<=\s))([^\W\d_][\w .#/()&'%-]{0,44}?)\s*[:=]\s*")


def label_key(label: str) -> str:
    """A label as compared: lower case, no brackets, percentages or punctuation but ``#``."""
    text = re.sub(r"\([^)]*\)|\d+(?:[.,]\d+)?\s*%", " ", label.lower())
    text = re.sub(r"[^\w#]+", " ", text.replace("-", " "))
    return " ".join(text.split())


def known_field(label: str) -> str | None:
    """The field a label names (``Invoice No.`` -> ``invoice number``), if it is a known one."""
    return _KNOWN.get(label_key(label))


@dataclass(frozen=True)
class Found:
    """One labelled value where it was found: its line's index, and the label's left edge."""

    label: str
    text: str
    line: int
    x: float

    @property
    def key(self) -> str:
        return label_key(self.label)

    @property
    def field(self) -> str | None:
        return _KNOWN.get(self.key)


def find_fields(lines: Sequence[Line]) -> list[Found]:
    """Every labelled value of the lines, in reading order."""
    found: list[Found] = []
    for index, line in enumerate(lines):
        for position, segment in enumerate(line.segments):
            found.extend(_in_segment(lines, index, position, segment))
        found.extend(_label_row(lines, index))
    return found


def _in_segment(lines: Sequence[Line], index: int, position: int, segment: Segment) -> list[Found]:
    text = segment.text
    pieces = list(COLON.finditer(text))
    if pieces and pieces[0].start() == 0:
        out = []
        for n, piece in enumerate(pieces):
            end = pieces[n + 1].start() if n + 1 < len(pieces) else len(text)
            label, value = piece.group(1).strip(), text[piece.end() : end].strip()
            if not value and n + 1 == len(pieces):
                value = _value_beside(lines, index, position, segment)
            if value:
                out.append(Found(label, value, index, segment.x0))
        return out
    line = lines[index]
    if known_field(text) and position + 1 < len(line.segments):
        parts: list[str] = []
        for later in line.segments[position + 1 :]:
            if known_field(later.text) or COLON.match(later.text):
                break
            parts.append(later.text)
        if parts:
            return [Found(text, " ".join(parts), index, segment.x0)]
    prefixed = _known_prefix(text)
    if prefixed is not None:
        return [Found(prefixed[0], prefixed[1], index, segment.x0)]
    if len(line.segments) == 2 and position == 0 and _is_label(text, strict=False):
        value = line.segments[1].text
        if re.search(r"\d", value) and not _is_label(value, strict=False):
            return [Found(text, value, index, segment.x0)]
    return []


def _known_prefix(text: str) -> tuple[str, str] | None:
    """``Invoice No. INV-7`` -> (``Invoice No.``, ``INV-7``): the longest known label it starts with."""
    words = text.split()
    for count in range(min(5, len(words) - 1), 0, -1):
        label = " ".join(words[:count])
        key = label_key(label)
        if key in _KNOWN and key not in ("no", "#", "number", "from", "net", "balance"):
            rest = " ".join(words[count:]).lstrip(":#. ")
            if rest and re.search(r"\d", rest):
                return label, rest
    return None


def _value_beside(lines: Sequence[Line], index: int, position: int, segment: Segment) -> str:
    """The value of a label that ends in a colon: the next segment, or what lies right below it."""
    line = lines[index]
    if position + 1 < len(line.segments):
        return line.segments[position + 1].text
    if index + 1 < len(lines):
        below = lines[index + 1]
        if below.page == line.page and below.top - line.bottom < 1.5 * line.height:
            for candidate in below.segments:
                if candidate.overlap(segment.x0, max(segment.x1, segment.x0 + 4 * line.height)) > 0:
                    return candidate.text if not COLON.match(candidate.text) else ""
    return ""


def _is_label(text: str, strict: bool = True) -> bool:
    if not _LABEL_TEXT.match(text) or len(text.split()) > 5:
        return False
    letters = sum(c.isalpha() for c in text)
    return letters >= 2 and (not strict or not re.search(r"\d", text))


def _label_row(lines: Sequence[Line], index: int) -> list[Found]:
    """Labels without colons over exactly one row of values aligned under them."""
    line = lines[index]
    labels = [s for s in line.segments if not COLON.match(s.text)]
    if len(labels) < 2 or not all(_is_label(s.text) and ":" not in s.text for s in labels):
        return []
    if index + 1 >= len(lines):
        return []
    below = lines[index + 1]
    if below.page != line.page or below.top - line.bottom > 1.5 * line.height:
        return []
    if line.height > 1.6 * below.height or any(COLON.match(s.text) for s in below.segments):
        return []
    pairs = _aligned(labels, below.segments)
    if len(pairs) < 2 or not any(re.search(r"\d", value.text) for _, value in pairs):
        return []
    if index + 2 < len(lines) and len(_aligned(labels, lines[index + 2].segments)) >= 2:
        further = lines[index + 2]
        if further.page == below.page and further.top - below.bottom < 1.5 * below.height:
            return []  # two rows of values: a table
    return [Found(label.text, value.text, index, label.x0) for label, value in pairs]


def _aligned(labels: Sequence[Segment], values: Sequence[Segment]) -> list[tuple[Segment, Segment]]:
    pairs: list[tuple[Segment, Segment]] = []
    for value in values:
        best = max(labels, key=lambda label: value.overlap(label.x0, label.x1))
        if value.overlap(best.x0, best.x1) > 0 and all(best is not label for label, _ in pairs):
            pairs.append((best, value))
    return pairs


def field_value(label: str, text: str, order: DateOrder) -> Any:
    """A field's value: amounts for amount labels, dates for date labels, identifiers as text."""
    words = set(label_key(label).split())
    field = known_field(label)
    if field in _KINDS["date"] or (words & _DATE_WORDS and not words & _AMOUNT_WORDS - {"due"}):
        date = find_date(text, order)
        if date is not None:
            return date
    if field in _KINDS["amount"] or words & _AMOUNT_WORDS:
        whole = parse_amount(text)
        amount = whole if whole is not None else amount_in(text)
        if amount is not None:
            return amount
    if words & _IDENTIFIER_WORDS or field in ("invoice number", "po number"):
        return text.split()[0] if text.split() and field else " ".join(text.split())
    return cell_value(text, order)


def fields_record(found: Sequence[Found], order: DateOrder) -> dict[str, Any]:
    """The fields as a record, by their labels as written (the first value of a label wins)."""
    record: dict[str, Any] = {}
    seen: set[str] = set()
    for item in found:
        label = item.label.strip().rstrip(".: ").strip() or item.label.strip()
        if item.key in seen:
            continue
        seen.add(item.key)
        record[label] = field_value(item.label, item.text, order)
    return record


def lookup(found: Sequence[Found], label: str, order: DateOrder) -> Any:
    """The value of the field ``label`` names: by the label as written, else by what it means."""
    wanted = label_key(label)
    for item in found:
        if item.key == wanted:
            return field_value(item.label, item.text, order)
    meaning = _KNOWN.get(wanted) or (wanted if wanted in LABELS else None)
    if meaning is None:
        return None
    for item in found:
        if item.field == meaning:
            return field_value(item.label, item.text, order)
    return None
