"""Pages of PDFs and images: their words from the text layer, or by OCR where a page has none.

A PDF is read one page at a time: pdfplumber gives a page's words and its ruled tables; a page with
no text layer (a scan) is rendered by PDFium at 400 dpi and read by OCR, and its image is let go
before the next page. The bounds below keep a runaway document from taking the run's memory: a
page or an image past them is refused with a message that says which and why.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plainrun.books.documents import ocr
from plainrun.books.documents.layout import Line, Word, lines_of
from plainrun.books.documents.tables import Table, from_rows

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_PAGES = 1000
#: The most pixels a page is rendered to or an image may have (300 dpi A3 is 17 million).
MAX_PIXELS = 40_000_000
#: Scans are read at this resolution: small type comes out better than at 300 dpi.
OCR_DPI = 400
#: Below this resolution text is too small for OCR: a page that would render lower is refused.
MIN_DPI = 100
_MIN_TEXT_CHARS = 10


class DocumentError(Exception):
    """A document that cannot be read; the message says why, in words for the person who sent it."""


@dataclass
class Page:
    number: int
    lines: list[Line]
    tables: list[Table] = field(default_factory=list)
    #: The areas of the page's ruled tables (their words are not read again as a layout table).
    ruled: list[tuple[float, float, float, float]] = field(default_factory=list)
    confidence: float | None = None

    @property
    def ocr(self) -> bool:
        return self.confidence is not None


def pdf_pages(data: bytes, name: str) -> Iterator[Page]:
    """The pages of a PDF, read one after another."""
    import pdfplumber

    try:
        document = pdfplumber.open(io.BytesIO(data))
        count = len(document.pages)
    except Exception as err:
        raise DocumentError(_pdf_problem(err, name)) from None
    if count > MAX_PAGES:
        document.close()
        raise DocumentError(f"{name} has {count} pages; at most {MAX_PAGES} are read")
    renderer = None
    try:
        for number, page in enumerate(document.pages, start=1):
            try:
                words, tables, ruled = _text_layer(page)
                chars = sum(len(word.text) for word in words)
                if chars >= _MIN_TEXT_CHARS or not _has_image(page):
                    yield Page(number, lines_of(words, number), tables, ruled)
                    continue
                if renderer is None:
                    renderer = _open_pdfium(data, name)
                yield _ocr_pdf_page(renderer, number, name)
            finally:
                page.close()
    finally:
        document.close()
        if renderer is not None:
            renderer.close()


def _pdf_problem(err: Exception, name: str) -> str:
    chain = [err, err.__cause__, err.__context__, *getattr(err, "args", ())]
    if any(type(e).__name__ in ("PDFPasswordIncorrect", "PDFEncryptionError") for e in chain):
        return f"{name} is protected by a password and cannot be read"
    return f"{name} is not a readable PDF (it is damaged, cut short or not a PDF)"


def _text_layer(page: Any) -> tuple[list[Word], list[Table], list[tuple[float, float, float, float]]]:
    words = [
        Word(w["text"], float(w["x0"]), float(w["top"]), float(w["x1"]), float(w["bottom"]))
        for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
        if w["text"].strip() and w.get("upright", True)
    ]
    tables, ruled = [], []
    if words and (page.lines or page.rects):
        for found in page.find_tables():
            table = from_rows(found.extract(), page.page_number)
            if table is not None:
                table.top = float(found.bbox[1])
                tables.append(table)
                ruled.append(tuple(float(v) for v in found.bbox))
    return words, tables, ruled  # type: ignore[return-value]


def _has_image(page: Any) -> bool:
    return bool(page.images) or bool(page.curves) or bool(page.rects)


def _open_pdfium(data: bytes, name: str) -> Any:
    import pypdfium2

    try:
        return pypdfium2.PdfDocument(data)
    except Exception as err:
        raise DocumentError(_pdf_problem(err, name)) from None


def _ocr_pdf_page(renderer: Any, number: int, name: str) -> Page:
    page = renderer[number - 1]
    try:
        width, height = page.get_size()
        scale = _scale(width, height, OCR_DPI / 72, f"page {number} of {name}", "page")
        image = page.render(scale=scale, grayscale=True).to_pil()
    finally:
        page.close()
    return ocr_page(image, scale, number)


def _scale(width: float, height: float, wanted: float, what: str, unit: str) -> float:
    """``wanted`` pixels per unit, or less for a big page; a page too big to read at all is refused."""
    scale = min(wanted, math.sqrt(MAX_PIXELS / max(width * height, 1.0)))
    per_inch = scale * (72 if unit == "page" else 1)
    if unit == "page" and per_inch < MIN_DPI:
        size = f"{width / 72 * 2.54:.0f} by {height / 72 * 2.54:.0f} cm"
        raise DocumentError(f"{what} is too large to read by OCR ({size})")
    return scale


def ocr_page(image: Image, scale: float, number: int) -> Page:
    try:
        found = ocr.read_image(image, scale)
    finally:
        image.close()
    confidence = found.confidence if found.confidence is not None else 0.0
    return Page(number, lines_of(found.words, number), confidence=confidence)


def image_pages(data: bytes, name: str) -> Iterator[Page]:
    """The pages of an image (each frame of a TIFF is a page), read by OCR."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, ValueError):
        raise DocumentError(f"{name} is not a readable image (or it is too large)") from None
    with picture:
        for number, frame in enumerate(ImageSequence.Iterator(picture), start=1):
            if number > MAX_PAGES:
                raise DocumentError(f"{name} has more than {MAX_PAGES} pages")
            if frame.width * frame.height > MAX_PIXELS:
                raise DocumentError(
                    f"{name} is too large to read ({frame.width} by {frame.height} pixels; "
                    f"at most {MAX_PIXELS // 1_000_000} million)"
                )
            try:
                grey = frame.convert("L")
            except (OSError, ValueError):
                raise DocumentError(f"{name} is not a readable image (it is damaged or cut short)") from None
            factor = _upscale(grey, frame.info.get("dpi"))
            if factor > 1:
                grey = grey.resize(
                    (round(grey.width * factor), round(grey.height * factor)), Image.Resampling.LANCZOS
                )
            yield ocr_page(grey, factor, number)


def _upscale(image: Image, dpi: Any) -> float:
    """How much to enlarge an image so that its text is as big as at ``OCR_DPI`` (never above the bound)."""
    resolution = float(dpi[0]) if isinstance(dpi, tuple) and dpi and float(dpi[0]) > 1 else None
    if resolution is None:
        factor = 2.0 if max(image.width, image.height) < 2000 else 1.0
    else:
        factor = min(3.0, OCR_DPI / resolution) if resolution < OCR_DPI else 1.0
    largest = math.sqrt(MAX_PIXELS / max(image.width * image.height, 1))
    return max(1.0, min(factor, largest))
