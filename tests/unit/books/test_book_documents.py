"""The documents book on real PDFs, scans and images drawn in the test, read by real Tesseract."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from plainrun.language import LocalEnvironment, Paused
from tests.unit.books import drawn

Log = Callable[..., list[str]]

EUROPEAN = drawn.invoice(
    "Müller Technik GmbH",
    [("Invoice No.", "2026-0117"), ("Date", "14.03.2026"), ("Due", "13.04.2026")],
    [("Schrauben M6", "200", "0,45 €", "90,00 €"), ("Montage", "3", "1.120,00 €", "3.360,00 €")],
    [("Net", "3.450,00 €"), ("VAT 19%", "655,50 €"), ("Total", "4.105,50 €")],
    header=("Description", "Menge", "Price", "Amount"),
)


def test_labels_beside_above_and_in_two_columns_give_amounts_and_dates(
    log_of: Log, env: LocalEnvironment
) -> None:
    page = drawn.lines(
        (50, 60, "Harbour & Finch LLP"),
        (360, 60, "Invoice #: HF-2207"),
        (50, 80, "Order Ref"),
        (200, 80, "Issued"),
        (50, 94, "PO-4471"),
        (200, 94, "March 3rd, 2026"),
        (360, 80, "Payment due:"),
        (360, 94, "2026-04-02"),
        (50, 140, "Credit:    (1,250.00)"),
        (50, 160, "Total Due    $12,480.50"),
        (50, 180, "Balance Due: EUR 1 250,00"),
    )
    file = env.add_file("hf.pdf", drawn.pdf(page))
    body = (
        "extract the fields of the file\nthe record is the above\n"
        'say the record\'s "invoice #"\nsay the record\'s "order ref"\nsay the record\'s issued + 1\n'
        'say the record\'s "payment due"\nsay the record\'s credit * 2\nsay the record\'s "total due"\n'
        'extract the field "balance due" from the file\nsay the above\n'
        'extract the field "invoice number" from the file\nsay the above\n'
        'extract the field "due date" from the file\nsay the above\n'
        'extract the field "shipping" from the file\nsay the above'
    )
    assert log_of(body, files=[file]) == [
        "HF-2207", "PO-4471", "2026-03-04", "2026-04-02", "-2500", "$12,480.50",
        "€1,250.00", "HF-2207", "2026-04-02", "Not Found",
    ]  # fmt: skip


def test_an_invoice_in_european_form_gives_its_facts_and_line_items(
    log_of: Log, env: LocalEnvironment
) -> None:
    file = env.add_file("rechnung.pdf", drawn.pdf(EUROPEAN))
    body = (
        "extract the invoice from the file\nthe invoice is the above\n"
        "say the invoice's invoice number\nsay the invoice's invoice date\nsay the invoice's due date\n"
        "say the invoice's vendor\nsay the invoice's total\nsay the invoice's tax\n"
        "the items are the invoice's line items\nsay the sum of the items's amount\n"
        "process each item as follows\n"
        "  say \"{the item's description}: {the item's Menge} x {the item's unit price}\""
    )
    assert log_of(body, files=[file]) == [
        "2026-0117", "2026-03-14", "2026-04-13", "Müller Technik GmbH", "€4,105.50", "€655.50",
        "€3,450.00", "Schrauben M6: 200 x €0.45", "Montage: 3 x €1,120.00",
    ]  # fmt: skip


def ruled_table(canvas: Canvas) -> None:
    """A table drawn with ruling lines, its first column's cells on two lines."""
    rows = [["Code", "Product", "Price"], ["A-1", "Paper", "4.50"], ["B-22", "Pens (blue)", "12.00"]]
    top = letter[1] - 100
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            canvas.rect(50 + 120 * c, top - 24 * (r + 1), 120, 24)
            canvas.drawString(55 + 120 * c, top - 24 * (r + 1) + 8, text)


def test_tables_with_and_without_ruling_lines_and_over_two_pages(log_of: Log, env: LocalEnvironment) -> None:
    rows = [(f"Item {n}", str(n), f"{n * 10}.00", f"{n * n * 10:,}.00") for n in range(1, 31)]
    first = drawn.invoice("Long Ltd", [("Invoice Number:", "L-1")], rows[:20], [])
    second = drawn.invoice("Long Ltd", [("Page", "2")], rows[20:], [("Total", "94,550.00")])
    file = env.add_file("tables.pdf", drawn.pdf(ruled_table, first, second))
    body = (
        "read the file\nthe document is the above\nsay the document's pages\n"
        "say the number of the document's tables\nthe table is the document's first table\n"
        "process each row of the table as follows\n"
        "  say \"{the row's code} {the row's product} {the row's price}\"\n"
        "the tables are the document's tables\nthe items are the 2nd table\nsay the number of the items\n"
        "say the last item's description\nsay the sum of the items's amount"
    )
    assert log_of(body, files=[file]) == [
        "3", "2", "A-1 Paper 4.5", "B-22 Pens (blue) 12", "30", "Item 30", "94550",
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["PDF", "PNG", "JPEG", "TIFF"])
def test_scans_and_photos_are_read_by_ocr_with_its_confidence(
    kind: str, log_of: Log, env: LocalEnvironment
) -> None:
    original = drawn.pdf(EUROPEAN)
    data = drawn.scanned(original, 240, 0.9) if kind == "PDF" else drawn.picture(original, kind, 240, -0.6)
    file = env.add_file(f"scan.{kind.lower()}", data)
    body = (
        "read the file\nthe document is the above\nsay the document's scanned pages\n"
        "if the document's confidence > 80 and the document's text contains \"Schrauben\" then\n"
        '  say "confident"\n'
        "extract the invoice from the file\nsay the above's invoice number\nsay the above's total\n"
        "say the number of the above's line items"
    )
    assert log_of(body, files=[file]) == ["1", "confident", "2026-0117", "€4,105.50", "2"]


def test_a_long_pdf_of_text_and_scanned_pages_is_read_page_by_page(
    log_of: Log, env: LocalEnvironment
) -> None:
    scan = drawn.rendered(
        drawn.pdf(drawn.lines((72, 100, "Delivery note DN-5521 signed by the customer"))), 200
    )

    def scanned_page(canvas: Canvas) -> None:
        buffer = io.BytesIO()
        scan[0].save(buffer, "PNG")  # type: ignore[attr-defined]
        canvas.drawImage(ImageReader(buffer), 0, 0, *letter)

    text_page = drawn.lines((72, 100, "Invoice Number: T-1"))
    file = env.add_file("mixed.pdf", drawn.pdf(text_page, scanned_page, text_page))
    body = (
        "read the file\nsay the above's pages\nsay the above's scanned pages\n"
        'extract the text of the file\nif the above contains "DN-5521" then\n  say "read the scan"\n'
        'extract the field "invoice number" from the file\nsay the above'
    )
    assert log_of(body, files=[file]) == ["3", "1", "read the scan", "T-1"]


def bad_documents() -> list[tuple[str, bytes, str]]:
    huge_page = drawn.pdf(lambda c: c.rect(10, 10, 100, 100, fill=1), size=(14400, 14400))
    huge_image = io.BytesIO()
    Image.new("1", (9000, 9000), 1).save(huge_image, "PNG")
    good = drawn.pdf(drawn.lines((72, 72, "Invoice Number: X-1")))
    return [
        ("cut.pdf", good[: len(good) // 2], "cut.pdf is not a readable PDF"),
        (
            "locked.pdf",
            drawn.pdf(drawn.lines((72, 72, "secret")), password="s3cret"),
            "locked.pdf is protected",
        ),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "broken.png is not a readable image"),
        ("huge.png", huge_image.getvalue(), "huge.png is too large to read (9000 by 9000 pixels"),
        ("poster.pdf", huge_page, "page 1 of poster.pdf is too large to read by OCR (508 by 508 cm)"),
        (
            "old.doc",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
            "old.doc is an old Word or Excel file",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"), bad_documents(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_document_that_cannot_be_read_is_an_exception_that_says_why(
    name: str, data: bytes, message: str, run_body: Callable[..., object], env: LocalEnvironment
) -> None:
    file = env.add_file(name, data)
    outcome = run_body('say "before"\nextract the text of the file\nsay "after"', files=[file])
    assert isinstance(outcome, Paused) and outcome.kind == "book" and outcome.line == 3
    assert outcome.question.startswith(f"extract the text of a (document): {message}")
    assert "Error" not in outcome.question and "Traceback" not in outcome.question


def test_an_html_email_body_reads_as_text_with_its_fields_and_tables(log_of: Log) -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body><h1>Order 7781</h1>"
        "<p>Dear team,<br>please ship the items below.</p><table><tr><th>SKU</th><th>Qty</th></tr>"
        "<tr><td>AB-1</td><td>4</td></tr><tr><td>CD-2</td><td>10</td></tr></table>"
        "<table><tr><td>Order date</td><td>2026-05-02</td></tr></table>"
        "<ul><li>Fragile</li></ul></body></html>"
    )
    email = {"subject": "Order", "sender": "a@b.example", "body": "", "html body": html}
    body = (
        "extract the text of the email\nsay the above\n"
        "extract the tables of the email\nthe tables are the above\n"
        "say the sum of the first table's qty\n"
        'extract the field "order date" from the email\nsay the above + 1'
    )
    assert log_of(body, {"email": email}) == [
        "Order 7781\nDear team,\nplease ship the items below.\n"
        "SKU\tQty\nAB-1\t4\nCD-2\t10\nOrder date\t2026-05-02\n"
        "• Fragile",
        "14",
        "2026-05-03",
    ]
