"""Documents: the text, labelled fields, tables and invoice facts of PDFs, scans, Word, Excel and HTML.

read the file
the document is the above
say the document's confidence
process each row of the document's first table as follows
  say the row's description
extract the invoice from the file

A document is a file (PDF, a scan as PNG/JPEG/TIFF or a scanned PDF, Word .docx, Excel .xlsx,
HTML or text), a text, or ``the email``. Pages without a text layer are read by OCR, one page at
a time. Amounts (``1.250,00 €``, ``(1,250.00)``) become numbers or money and dates become dates.
A document that cannot be read (damaged, protected by a password, too large) is an exception on
the call's line that says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from plainrun.books.documents import invoices, reading
from plainrun.books.documents.fields import fields_record, lookup
from plainrun.books.documents.ocr import OcrUnavailable
from plainrun.books.documents.pages import DocumentError
from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.errors import BookError
from plainrun.language.values import NOT_FOUND, FileRef

logger = logging.getLogger(__name__)

Source = FileRef | str | dict[str, Any]
T = TypeVar("T")


def document_of(source: Source, env: Environment) -> reading.Document:
    """The document read, or a BookError whose message is for the person who sent it."""
    name = source.name if isinstance(source, FileRef) else "the document"
    try:
        return reading.read(source, env)
    except (DocumentError, OcrUnavailable) as err:
        raise BookError(str(err)) from None
    except (BookError, MemoryError):
        raise
    except Exception:
        logger.exception("reading %s failed", name, extra={"action": "document_failed"})
        raise BookError(f"{name} could not be read") from None


def _with(source: Source, env: Environment, use: Callable[[reading.Document], T]) -> T:
    return use(document_of(source, env))


def document_text(document: Source, env: Environment) -> str:
    return _with(document, env, lambda d: d.text)


@procedure("to extract the text of a (document)")
def extract_text(document: Source, env: Environment) -> str:
    """The text; a page without a text layer is read by OCR."""
    return document_text(document, env)


@procedure("to read a (document)")
def read_document(document: Source, env: Environment) -> dict[str, Any]:
    """Everything at once: ``text``, ``pages``, ``scanned pages``, ``confidence`` (OCR, 0-100),
    ``fields``, ``tables`` and ``first table``."""
    found = document_of(document, env)
    tables = [table.value(found.order) for table in found.tables]
    record: dict[str, Any] = {
        "name": found.name,
        "kind": found.kind,
        "text": found.text,
        "pages": len(found.pages),
        "scanned pages": found.scanned_pages,
        "fields": fields_record(found.found, found.order),
        "tables": tables,
    }
    if found.confidence is not None:
        record["confidence"] = Decimal(str(round(found.confidence, 1)))
    if tables:
        record["first table"] = tables[0]
    return record


@procedure("to extract the fields of a (document)")
def extract_fields(document: Source, env: Environment) -> dict[str, Any]:
    """Every labelled field as a record by its label (the first value of a label wins)."""
    return _with(document, env, lambda d: fields_record(d.found, d.order))


@procedure("to extract the field (label) from a (document)")
def extract_field(label: str, document: Source, env: Environment) -> Any:
    """One field's value, by its label or one that means the same (``invoice no`` for ``invoice number``)."""
    found = document_of(document, env)
    value = lookup(found.found, label, found.order)
    return NOT_FOUND if value is None else value


@procedure("to extract the tables of a (document)")
def extract_tables(document: Source, env: Environment) -> list[list[dict[str, Any]]]:
    """Every table, each a list of records keyed by its header row."""
    return _with(document, env, lambda d: [table.value(d.order) for table in d.tables])


@procedure("to extract the invoice from a (document)")
def extract_invoice(document: Source, env: Environment) -> dict[str, Any]:
    """``invoice number``, ``invoice date``, ``due date``, ``vendor``, ``customer``, ``po number``,
    ``subtotal``, ``tax``, ``total``, ``currency``, ``line items`` (``description``, ``quantity``,
    ``unit price``, ``amount``), ``pages`` and, for a scan, ``confidence``: those that are there."""
    return _with(document, env, invoices.invoice)


@procedure("to read the paragraphs of a (document)")
def read_paragraphs(document: Source, env: Environment) -> list[str]:
    """The paragraphs of a Word document, or the blocks of a text parted by blank lines."""
    found = document_of(document, env)
    if found.paragraphs is not None:
        return found.paragraphs
    blocks = found.text.replace("\r\n", "\n").split("\n\n")
    return [" ".join(block.split()) for block in blocks if block.strip()]
