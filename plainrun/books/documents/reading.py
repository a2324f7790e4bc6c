"""Reading any document once: what it is, its pages, text, fields and tables.

A document is a file (PDF, PNG/JPEG/TIFF/GIF/BMP/WebP image, Word .docx, Excel .xlsx, HTML or
plain text), a text (plain or HTML), an e-mail (``the email``) or a record read before (its
``text``). Its kind is told by its first bytes, then by its name. The last few documents read are
kept by the hash of their bytes, so that reading the fields, then the tables, of one scan runs
OCR once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from plainrun.books.documents import markup, pages, word
from plainrun.books.documents.fields import Found, find_fields
from plainrun.books.documents.layout import Line, render, text_lines
from plainrun.books.documents.normalise import DateOrder, date_order
from plainrun.books.documents.pages import DocumentError, Page
from plainrun.books.documents.tables import Table, from_rows, joined, layout_tables
from plainrun.language.environment import Environment
from plainrun.language.values import FileRef

_IMAGES = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")
_CACHED = 8
_cache: OrderedDict[str, Document] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass
class Document:
    name: str
    kind: str
    pages: list[Page]
    #: Tables the document holds as such (Word, HTML, Excel); PDFs' are found page by page.
    structured: list[Table] = field(default_factory=list)
    #: The text as written, for documents that are text; PDFs and images are rendered from their lines.
    written: str | None = None
    #: A Word document's paragraphs.
    paragraphs: list[str] | None = None

    @cached_property
    def lines(self) -> list[Line]:
        return [line for page in self.pages for line in page.lines]

    @cached_property
    def text(self) -> str:
        return self.written if self.written is not None else render(self.lines)

    @cached_property
    def order(self) -> DateOrder:
        return date_order(self.text)

    @cached_property
    def found(self) -> list[Found]:
        return find_fields(self.lines)

    @cached_property
    def tables(self) -> list[Table]:
        if self.kind in ("word", "html", "excel"):
            return self.structured
        found: list[Table] = []
        for page in self.pages:
            free = [line for line in page.lines if not _inside(line, page.ruled)]
            found.extend(sorted([*page.tables, *layout_tables(free)], key=lambda t: t.top))
        return joined(found)

    @property
    def confidence(self) -> float | None:
        """The OCR confidence (0-100) of the pages read by OCR, weighted by their lines; else None."""
        scanned = [(p.confidence, len(p.lines) or 1) for p in self.pages if p.confidence is not None]
        if not scanned:
            return None
        return sum(c * w for c, w in scanned) / sum(w for _, w in scanned)

    @property
    def scanned_pages(self) -> int:
        return sum(page.ocr for page in self.pages)


def _inside(line: Line, areas: list[tuple[float, float, float, float]]) -> bool:
    return any(
        x0 - 1 <= line.words[0].x0 and line.top >= top - 1 and line.bottom <= bottom + 1
        for x0, top, _, bottom in areas
    )


def read(source: Any, env: Environment) -> Document:
    """The document ``source`` is; raises DocumentError with a message for people."""
    if isinstance(source, FileRef):
        return _read_file(source, env)
    if isinstance(source, dict):
        return _read_record(source)
    if isinstance(source, str):
        return _from_text(source, "the text")
    raise DocumentError("a document is a file, a text or an e-mail")


def _read_record(record: dict[str, Any]) -> Document:
    lowered = {str(k).lower(): v for k, v in record.items()}
    html = lowered.get("html body")
    body = lowered.get("body", lowered.get("text"))
    if isinstance(html, str) and html.strip() and not (isinstance(body, str) and body.strip()):
        return _from_text(html, "the e-mail")
    if isinstance(body, str):
        return _from_text(body, "the e-mail" if "subject" in lowered else "the document")
    raise DocumentError("the record has no text or body to read")


def _read_file(file: FileRef, env: Environment) -> Document:
    data = env.read_file(file.id)
    key = hashlib.sha256(data).hexdigest()
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    document = _parse(data, file)
    with _cache_lock:
        _cache[key] = document
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    return document


def kind_of(data: bytes, file: FileRef) -> str:
    name, content_type = file.name.lower(), (file.content_type or "").lower()
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_IMAGES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    if data[:4] == b"PK\x03\x04":
        if b"word/" in data[:65536] or name.endswith(".docx"):
            return "word"
        if b"xl/" in data[:65536] or name.endswith((".xlsx", ".xlsm")):
            return "excel"
    if data[:4] == b"\xd0\xcf\x11\xe0":
        return "ole"
    if name.endswith(".pdf") or content_type == "application/pdf":
        return "pdf"
    if name.endswith((".htm", ".html")) or "html" in content_type:
        return "html"
    return "text"


def _parse(data: bytes, file: FileRef) -> Document:
    kind = kind_of(data, file)
    if kind == "pdf":
        return Document(file.name, kind, list(pages.pdf_pages(data, file.name)))
    if kind == "image":
        return Document(file.name, kind, list(pages.image_pages(data, file.name)))
    if kind == "word":
        return _word(data, file.name)
    if kind == "excel":
        return _excel(data, file)
    if kind == "ole":
        raise DocumentError(
            f"{file.name} is an old Word or Excel file (.doc, .xls) or one protected by a password; "
            "save it as .docx or .xlsx"
        )
    from plainrun.books.files import decode

    document = _from_text(decode(data), file.name)
    document.name = file.name
    return document


def _from_text(text: str, name: str) -> Document:
    if markup.looks_like_html(text):
        plain, cells = markup.read_html(text)
        tables = [t for t in (from_rows(rows) for rows in cells) if t is not None]
        return Document(name, "html", [Page(1, text_lines(plain))], tables, plain)
    return Document(name, "text", [Page(1, text_lines(text))], written=text)


def _word(data: bytes, name: str) -> Document:
    try:
        content = word.read_docx(data)
    except ValueError:
        raise DocumentError(f"{name} is not a readable Word document (.docx)") from None
    tables = [t for t in (from_rows(rows) for rows in content.tables) if t is not None]
    return Document(
        name, "word", [Page(1, text_lines(content.text))], tables, content.text, content.paragraphs
    )


def _excel(data: bytes, file: FileRef) -> Document:
    from plainrun.books.excel import Workbook

    book = Workbook(data, file.name)
    try:
        sheets = [(name, list(book.rows(name))) for name in book.sheet_names]
    finally:
        book.close()
    from plainrun.language.values import to_text

    texts = [
        "\n".join("\t".join(to_text(c) for c in row if c is not None) for row in rows) for _, rows in sheets
    ]
    tables = [t for t in (from_rows([[to_text(c) for c in row] for row in rows]) for _, rows in sheets) if t]
    text = "\n\n".join(texts)
    return Document(file.name, "excel", [Page(1, text_lines(text))], tables, text)
