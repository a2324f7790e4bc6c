"""Invoices in five layouts, drawn with reportlab, with the facts each one was drawn from; and scans.

Layouts: ``classic`` (labels with colons beside their values, a ruled table, VAT), ``stacked``
(labels above their values, a table without ruling lines, dollars, dates as March 14, 2026),
``european`` (two columns, labels without colons, 1.250,00 €, 14.03.2026, a position column),
``modern`` (a dark band, descriptions over two lines, a discount written (50.00), ISO dates) and
``long`` (thirty to forty-five items over two or three pages, the table's header repeated).

:func:`scan` turns a PDF into what a scanner makes of it: each page rasterised at 150 to 300 dpi,
turned by up to 1.5 degrees, with grain and specks, saved as JPEG pages of an image-only PDF.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, letter
from reportlab.pdfgen.canvas import Canvas

LAYOUTS = ("classic", "stacked", "european", "modern", "long")
VENDORS = [
    "Northwind Traders Ltd",
    "Harbour & Finch LLP",
    "Blue Ridge Supplies Inc",
    "Kestrel Analytics",
    "Müller Technik GmbH",
    "Oakline Furniture Co",
    "Brightwater Consulting",
    "Cobalt Print Works",
    "Tern Logistics BV",
    "Juniper Cloud Services",
    "Redstone Engineering Ltd",
    "Maple & Pine Studio",
]
ITEMS = [
    "Consulting hours",
    "Widget A-100",
    "Cable 3m",
    "Office chairs",
    "Annual licence",
    "Printer toner",
    "Site survey",
    "Delivery charge",
    "Network switch",
    "Design review",
    "Paper A4 box",
    "Support plan",
    "Server rack",
    "Training day",
    "Laptop stand",
    "Cleaning service",
    "Monitor 27in",
    "Keyboard",
]


@dataclass
class Invoice:
    layout: str
    number: str
    date: dt.date
    vendor: str
    items: list[tuple[str, int, Decimal, Decimal]]
    tax_rate: Decimal
    discount: Decimal = Decimal(0)
    pages: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def descriptions(self) -> list[str]:
        """The line items' descriptions as printed (the modern layout adds a second line to each)."""
        note = " as agreed, see order confirmation" if self.layout == "modern" else ""
        return [description + note for description, *_ in self.items]

    @property
    def subtotal(self) -> Decimal:
        return sum((amount for *_, amount in self.items), Decimal(0)) - self.discount

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


def make(index: int, rng: random.Random) -> Invoice:
    layout = LAYOUTS[index % len(LAYOUTS)]
    count = rng.randint(30, 45) if layout == "long" else rng.randint(2, 7)
    items = []
    for _ in range(count):
        quantity = rng.choice([1, 1, 2, 3, 4, 5, 8, 10, 12, 20, 25])
        price = Decimal(rng.randint(150, 250000)) / 100
        items.append((rng.choice(ITEMS), quantity, price, (price * quantity).quantize(Decimal("0.01"))))
    number = {
        "classic": f"INV-{rng.randint(1000, 9999)}",
        "stacked": f"{rng.randint(10000, 99999)}",
        "european": f"2026-{rng.randint(1, 999):04d}",
        "modern": f"A{rng.randint(100, 999)}/{rng.randint(10, 99)}",
        "long": f"LT-{rng.randint(100000, 999999)}",
    }[layout]
    date = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 360))
    discount = Decimal(rng.randint(1, 20) * 5) if layout == "modern" else Decimal(0)
    rate = (
        Decimal("0.19") if layout == "european" else rng.choice([Decimal("0.2"), Decimal("0.08"), Decimal(0)])
    )
    return Invoice(layout, number, date, rng.choice(VENDORS), items, rate, discount)


def money(amount: Decimal, style: str) -> str:
    text = f"{abs(amount):,.2f}"
    if style == "eu":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".") + " €"
    elif style == "usd":
        text = "$" + text
    elif style == "gbp":
        text = "£" + text
    return f"({text})" if amount < 0 else text


def _page_setup(canvas: Canvas) -> None:
    canvas.setFillColor(colors.black)
    canvas.setStrokeColor(colors.black)


def _classic(c: Canvas, inv: Invoice) -> None:
    width, height = A4
    c.setFont("Helvetica-Bold", 20)
    c.drawString(50, height - 70, inv.vendor)
    c.setFont("Helvetica", 9)
    c.drawString(50, height - 86, "14 Harbour Road, Bristol BS1 4QA")
    c.drawString(50, height - 98, "accounts@example.co.uk")
    c.setFont("Helvetica-Bold", 16)
    c.drawRightString(width - 50, height - 70, "INVOICE")
    c.setFont("Helvetica", 10)
    for row, (label, value) in enumerate(
        [
            ("Invoice Number:", inv.number),
            ("Invoice Date:", inv.date.strftime("%d/%m/%Y")),
            ("Due Date:", (inv.date + dt.timedelta(days=30)).strftime("%d/%m/%Y")),
        ]
    ):
        c.drawString(width - 230, height - 100 - 14 * row, label)
        c.drawRightString(width - 50, height - 100 - 14 * row, value)
    c.drawString(50, height - 150, "Bill To:")
    c.drawString(50, height - 164, "Acme Holdings plc")
    c.drawString(50, height - 178, "1 Market Street, Leeds")
    widths = [250, 50, 95, 100]
    y = _grid_table(
        c,
        50,
        height - 220,
        widths,
        ["Description", "Qty", "Unit Price", "Amount"],
        [[d, str(q), money(p, "plain"), money(a, "plain")] for d, q, p, a in inv.items],
    )
    _totals(
        c,
        width - 50,
        y - 24,
        [
            ("Subtotal", money(inv.subtotal, "gbp")),
            (f"VAT ({inv.tax_rate * 100:.0f}%)", money(inv.tax, "gbp")),
            ("Total Due", money(inv.total, "gbp")),
        ],
        label_x=width - 230,
    )


def _grid_table(
    c: Canvas, x: float, y: float, widths: list[int], header: list[str], rows: list[list[str]]
) -> float:
    height = 18
    c.setFont("Helvetica-Bold", 10)
    all_rows = [header, *rows]
    for r, row in enumerate(all_rows):
        c.setFont("Helvetica-Bold" if r == 0 else "Helvetica", 10)
        left = x
        for col, (cell, w) in enumerate(zip(row, widths, strict=True)):
            c.rect(left, y - height * (r + 1), w, height, stroke=1, fill=0)
            if col == 0:
                c.drawString(left + 4, y - height * (r + 1) + 5, cell)
            else:
                c.drawRightString(left + w - 4, y - height * (r + 1) + 5, cell)
            left += w
    return y - height * len(all_rows)


def _totals(c: Canvas, right: float, y: float, rows: list[tuple[str, str]], label_x: float) -> None:
    for n, (label, value) in enumerate(rows):
        c.setFont("Helvetica-Bold" if n == len(rows) - 1 else "Helvetica", 10)
        c.drawString(label_x, y - 16 * n, label)
        c.drawRightString(right, y - 16 * n, value)


def _stacked(c: Canvas, inv: Invoice) -> None:
    width, height = letter
    c.setFont("Helvetica-Bold", 22)
    c.drawCentredString(width / 2, height - 60, inv.vendor)
    c.setFont("Helvetica", 9)
    c.drawCentredString(width / 2, height - 76, "500 Commerce Ave, Suite 12, Denver, CO 80202")
    c.setFont("Helvetica-Bold", 12)
    c.drawString(60, height - 120, "Invoice")
    labels = ["Invoice No", "Date", "Due Date", "Terms"]
    values = [
        inv.number,
        inv.date.strftime("%B %d, %Y").replace(" 0", " "),
        (inv.date + dt.timedelta(days=15)).strftime("%B %d, %Y").replace(" 0", " "),
        "Net 15",
    ]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        c.setFont("Helvetica-Bold", 9)
        c.drawString(60 + 130 * n, height - 150, label)
        c.setFont("Helvetica", 10)
        c.drawString(60 + 130 * n, height - 164, value)
    y = height - 220
    columns = [(60, "Item", "l"), (370, "Quantity", "r"), (460, "Rate", "r"), (552, "Line Total", "r")]
    c.setFont("Helvetica-Bold", 10)
    for x, label, align in columns:
        (c.drawString if align == "l" else c.drawRightString)(x, y, label)
    c.line(60, y - 5, 552, y - 5)
    c.setFont("Helvetica", 10)
    for d, q, p, a in inv.items:
        y -= 18
        for (x, _, align), text in zip(columns, [d, str(q), money(p, "usd"), money(a, "usd")], strict=True):
            (c.drawString if align == "l" else c.drawRightString)(x, y, text)
    _totals(
        c,
        552,
        y - 36,
        [
            ("Subtotal", money(inv.subtotal, "usd")),
            ("Tax", money(inv.tax, "usd")),
            ("Amount Due", money(inv.total, "usd")),
        ],
        label_x=380,
    )


def _european(c: Canvas, inv: Invoice) -> None:
    _, height = A4
    c.setFont("Helvetica-Bold", 16)
    c.drawString(50, height - 60, inv.vendor)
    c.setFont("Helvetica", 9)
    for n, line in enumerate(["Industriestraße 7", "70565 Stuttgart", "USt-IdNr. DE123456789"]):
        c.drawString(50, height - 76 - 12 * n, line)
    c.setFont("Helvetica", 10)
    for n, (label, value) in enumerate(
        [("Invoice No.", inv.number), ("Date", inv.date.strftime("%d.%m.%Y")), ("Customer No.", "K-4471")]
    ):
        c.drawString(340, height - 60 - 15 * n, label)
        c.drawString(440, height - 60 - 15 * n, value)
    c.drawString(50, height - 150, "Kunde GmbH, Hauptstraße 1, 10115 Berlin")
    y = height - 200
    columns = [
        (50, "Pos", "l"),
        (85, "Description", "l"),
        (360, "Qty", "r"),
        (450, "Price", "r"),
        (545, "Amount", "r"),
    ]
    c.setFont("Helvetica-Bold", 10)
    for x, label, align in columns:
        (c.drawString if align == "l" else c.drawRightString)(x, y, label)
    c.setFont("Helvetica", 10)
    for n, (d, q, p, a) in enumerate(inv.items, start=1):
        y -= 17
        for (x, _, align), text in zip(
            columns, [str(n), d, str(q), money(p, "eu"), money(a, "eu")], strict=True
        ):
            (c.drawString if align == "l" else c.drawRightString)(x, y, text)
    c.line(300, y - 8, 545, y - 8)
    _totals(
        c,
        545,
        y - 26,
        [
            ("Net", money(inv.subtotal, "eu")),
            (f"VAT {inv.tax_rate * 100:.0f}%", money(inv.tax, "eu")),
            ("Total", money(inv.total, "eu")),
        ],
        label_x=360,
    )


def _modern(c: Canvas, inv: Invoice) -> None:
    width, height = letter
    c.setFillColor(colors.HexColor("#1f2a44"))
    c.rect(0, height - 50, width, 50, stroke=0, fill=1)
    c.setFillColor(colors.white)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(40, height - 35, "INVOICE")
    _page_setup(c)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(40, height - 85, inv.vendor)
    c.setFont("Helvetica", 10)
    c.drawString(40, height - 100, "hello@example.com  ·  +1 415 555 0100")
    c.drawString(380, height - 85, f"Invoice #: {inv.number}")
    c.drawString(380, height - 100, f"Issued: {inv.date.isoformat()}")
    c.drawString(380, height - 115, f"Due: {(inv.date + dt.timedelta(days=30)).isoformat()}")
    c.drawString(40, height - 140, "Billed to: Globex Corporation")
    y = height - 180
    c.setFillColor(colors.HexColor("#e8ecf4"))
    c.rect(40, y - 5, 532, 18, stroke=0, fill=1)
    _page_setup(c)
    c.setFont("Helvetica-Bold", 10)
    c.drawString(46, y, "Description")
    for x, label in [(380, "Hours"), (470, "Rate"), (566, "Amount")]:
        c.drawRightString(x, y, label)
    c.setFont("Helvetica", 10)
    for d, q, p, a in inv.items:
        y -= 20
        c.drawString(46, y, d)
        c.drawRightString(380, y, str(q))
        c.drawRightString(470, y, money(p, "plain"))
        c.drawRightString(566, y, money(a, "plain"))
        y -= 12
        c.setFont("Helvetica", 8)
        c.drawString(46, y, "as agreed, see order confirmation")
        c.setFont("Helvetica", 10)
    _totals(
        c,
        566,
        y - 36,
        [
            ("Subtotal", money(inv.subtotal + inv.discount, "usd")),
            ("Discount", money(-inv.discount, "plain")),
            ("Tax", money(inv.tax, "usd")),
            ("Balance Due", money(inv.total, "usd")),
        ],
        label_x=400,
    )


def _long(c: Canvas, inv: Invoice) -> None:
    width, height = letter
    per_page = 24
    chunks = [inv.items[i : i + per_page] for i in range(0, len(inv.items), per_page)]
    inv.pages = len(chunks)
    for page, chunk in enumerate(chunks, start=1):
        if page == 1:
            c.setFont("Helvetica-Bold", 18)
            c.drawString(50, height - 60, inv.vendor)
            c.setFont("Helvetica", 10)
            c.drawString(50, height - 76, "Unit 4, Riverside Park, Reading RG1 8AA")
            c.drawString(400, height - 60, f"Invoice Number: {inv.number}")
            c.drawString(400, height - 74, f"Invoice Date: {inv.date.strftime('%d %b %Y')}")
            y = height - 130
        else:
            y = height - 60
        c.setFont("Helvetica-Bold", 10)
        for x, label, right in [
            (50, "Description", False),
            (360, "Qty", True),
            (460, "Unit Price", True),
            (560, "Amount", True),
        ]:
            (c.drawRightString if right else c.drawString)(x, y, label)
        c.setFont("Helvetica", 10)
        for d, q, p, a in chunk:
            y -= 18
            c.drawString(50, y, d)
            c.drawRightString(360, y, str(q))
            c.drawRightString(460, y, money(p, "plain"))
            c.drawRightString(560, y, money(a, "plain"))
        c.setFont("Helvetica", 8)
        c.drawCentredString(width / 2, 30, f"Page {page} of {len(chunks)}")
        if page == len(chunks):
            _totals(
                c,
                560,
                y - 36,
                [
                    ("Subtotal", money(inv.subtotal, "gbp")),
                    ("VAT", money(inv.tax, "gbp")),
                    ("Total", money(inv.total, "gbp")),
                ],
                label_x=380,
            )
        else:
            c.showPage()


_DRAW = {"classic": _classic, "stacked": _stacked, "european": _european, "modern": _modern, "long": _long}


def pdf(inv: Invoice) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4 if inv.layout in ("classic", "european") else letter)
    _DRAW[inv.layout](canvas, inv)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def scan(document: bytes, rng: random.Random) -> tuple[bytes, int]:
    """An image-only PDF of ``document`` as a scanner makes it, and the resolution it was scanned at."""
    import pypdfium2
    from PIL import Image, ImageDraw

    dpi = rng.randint(150, 300)
    pages = []
    source = pypdfium2.PdfDocument(document)
    for page in source:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        angle = rng.uniform(0.3, 1.5) * rng.choice([-1, 1])
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
        grain = Image.effect_noise(image.size, rng.uniform(20, 45)).convert("L")
        image = Image.blend(image, grain, rng.uniform(0.08, 0.18))
        draw = ImageDraw.Draw(image)
        for _ in range(rng.randint(150, 400)):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            draw.point((x, y), fill=rng.randint(0, 90))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(60, 85))
        pages.append(Image.open(io.BytesIO(buffer.getvalue())))
    source.close()
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return out.getvalue(), dpi
