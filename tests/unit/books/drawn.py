"""Documents drawn for the tests: PDFs with reportlab, and what a scanner or a camera makes of them."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

Draw = Callable[[Canvas], None]


def saved(document: Any) -> bytes:
    """The bytes of anything with a ``save(stream)`` (an openpyxl workbook, a python-docx document)."""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf(*pages: Draw, size: tuple[float, float] = letter, password: str | None = None) -> bytes:
    """A PDF with one page per drawing function (text in Helvetica, a real text layer)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, encrypt=password)
    for draw in pages:
        canvas.setFont("Helvetica", 10)
        draw(canvas)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def lines(*rows: tuple[float, float, str], size: float = 10) -> Draw:
    """A page of texts at (x, y from the top) positions."""

    def draw(canvas: Canvas) -> None:
        height = canvas._pagesize[1]
        for x, y, text in rows:
            canvas.setFont("Helvetica", size)
            canvas.drawString(x, height - y, text)

    return draw


def invoice(
    vendor: str,
    fields: Sequence[tuple[str, str]],
    items: Sequence[tuple[str, str, str, str]],
    totals: Sequence[tuple[str, str]],
    header: tuple[str, str, str, str] = ("Description", "Qty", "Unit Price", "Amount"),
) -> Draw:
    """An invoice page: the vendor in large type, fields on the right, a table without ruling lines."""

    def draw(canvas: Canvas) -> None:
        height = canvas._pagesize[1]
        canvas.setFont("Helvetica-Bold", 20)
        canvas.drawString(50, height - 60, vendor)
        canvas.setFont("Helvetica", 10)
        canvas.drawString(50, height - 78, "1 Quay Street, Bristol")
        for n, (label, value) in enumerate(fields):
            canvas.drawString(360, height - 60 - 15 * n, label)
            canvas.drawRightString(560, height - 60 - 15 * n, value)
        columns = [(50, "l"), (380, "r"), (470, "r"), (560, "r")]
        y = height - 180
        for row_number, row in enumerate([header, *items]):
            canvas.setFont("Helvetica-Bold" if row_number == 0 else "Helvetica", 10)
            for (x, align), text in zip(columns, row, strict=True):
                (canvas.drawString if align == "l" else canvas.drawRightString)(x, y, text)
            y -= 18
        for label, value in totals:
            y -= 4
            canvas.drawString(380, y, label)
            canvas.drawRightString(560, y, value)
            y -= 14

    return draw


def rendered(document: bytes, dpi: int = 200, angle: float = 0.0, grain: bool = True) -> list[object]:
    """The pages of a PDF as greyscale images, as a scanner sees them: turned by ``angle``, grainy."""
    import pypdfium2
    from PIL import Image

    images = []
    source = pypdfium2.PdfDocument(document)
    for page in source:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        if angle:
            image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
        if grain:
            image = Image.blend(image, Image.effect_noise(image.size, 30).convert("L"), 0.12)
        images.append(image)
    source.close()
    return images


def scanned(document: bytes, dpi: int = 200, angle: float = 0.8) -> bytes:
    """An image-only PDF of ``document`` (no text layer), as a scanner makes it."""
    images = rendered(document, dpi, angle)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])  # type: ignore[attr-defined]
    return out.getvalue()


def picture(document: bytes, kind: str, dpi: int = 200, angle: float = 0.0) -> bytes:
    """The first page of ``document`` as a PNG, JPEG or TIFF image (every page for a TIFF)."""
    images = rendered(document, dpi, angle)
    out = io.BytesIO()
    if kind == "TIFF":
        images[0].save(out, "TIFF", dpi=(dpi, dpi), save_all=True, append_images=images[1:])  # type: ignore[attr-defined]
    else:
        images[0].save(out, kind, dpi=(dpi, dpi))  # type: ignore[attr-defined]
    return out.getvalue()
