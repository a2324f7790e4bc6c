"""Excel written and read (sheets by name, formulas' values) and Word read, on real files."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal

import docx
import openpyxl

from plainrun.language import LocalEnvironment, Money, Paused, Succeeded
from tests.unit.books import drawn

Log = Callable[..., list[str]]


def test_a_written_workbook_has_a_sheet_per_table_with_typed_cells(
    run_body: Callable[..., object], env: LocalEnvironment
) -> None:
    rows = [
        {"item": "Paper", "price": Money(Decimal("4.50"), "€"), "due": dt.date(2026, 3, 1), "paid": True},
        {"item": "Pens", "price": Money(Decimal("12.00"), "€"), "qty": 3},
    ]
    outcome = run_body(
        'write the report to an excel file named "report" where\n  the sheet is "ignored"\n'
        "the output file is the above",
        {"report": {"Items": rows, "Summary": {"total": Decimal("16.50"), "count": 2}}},
    )
    assert isinstance(outcome, Succeeded), outcome
    (file_id,) = (o["value"] for o in outcome.outputs)
    name, _, content_type = env.file_info(file_id)
    assert name == "report.xlsx" and content_type.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(env.read_file(file_id)))
    assert book.sheetnames == ["Items", "Summary"]
    items = list(book["Items"].iter_rows(values_only=True))
    assert items == [
        ("item", "price", "due", "paid", "qty"),
        ("Paper", 4.5, dt.datetime(2026, 3, 1), True, None),
        ("Pens", 12, None, None, 3),
    ]
    assert book["Items"]["B2"].number_format == '#,##0.00 "€"'
    assert list(book["Summary"].iter_rows(values_only=True)) == [("total", "count"), (16.5, 2)]


def test_sheets_by_name_and_the_values_of_formulas_saved_without_results(
    log_of: Log, run_body: Callable[..., object], env: LocalEnvironment
) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Rates"
    book.active.append(["code", "rate"])
    book.active.append(["STD", 0.2])
    lines = book.create_sheet("Lines")
    lines.append(["item", "qty", "price", "net", "gross", "label"])
    lines.append(["Paper", 3, 4.5, "=B2*C2", "=ROUND(D2*(1+Rates!B2),2)", '=UPPER(A2)&" x"&B2'])
    lines.append(["Pens", 2, 1.25, "=B3*C3", "=ROUND(D3*(1+Rates!$B$2),2)", '=IF(D3>5,"big","small")'])
    lines.append(["total", "=SUM(B2:B3)", None, "=SUM(D2:D3)", "=SUM(E2:E3)", "=COUNT(B2:C3)"])
    file = env.add_file("lines.xlsx", drawn.saved(book))
    body = (
        "read the sheet names of the file\nsay the above\n"
        'read the excel rows of the file where\n  the sheet is "lines"\nthe rows are the above\n'
        "process each row as follows\n"
        "  say \"{the row's item} {the row's net} {the row's gross} {the row's label}\"\n"
        "read the sheets of the file\nthe workbook is the above\nsay the workbook's rates's rate"
    )
    log = log_of(body, files=[file])
    assert log == ["Rates, Lines", "Paper 13.5 16.2 PAPER x3", "Pens 2.5 3 small", "total 16 19.2 4", "0.2"]
    missing = run_body('read the excel rows of the file where\n  the sheet is "Q3"', files=[file])
    assert isinstance(missing, Paused) and missing.line == 2
    assert missing.question.endswith('lines.xlsx has no sheet named "Q3" (it has: Rates, Lines)')


def test_a_word_document_gives_paragraphs_tables_and_fields(log_of: Log, env: LocalEnvironment) -> None:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Coda Consulting Ltd"
    document.add_paragraph("Purchase order for the spring campaign.")
    form = document.add_table(rows=2, cols=2)
    for row, (label, value) in zip(
        form.rows, [("PO Number", "PO-7781"), ("Order Date", "12/05/2026")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = label, value
    lines = document.add_table(rows=3, cols=3)
    for row, cells in zip(
        lines.rows,
        [("Item", "Qty", "Price"), ("Posters", "200", "0.80"), ("Flyers", "1,000", "0.12")],
        strict=True,
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("Deliver by the end of May.")
    file = env.add_file("order.docx", drawn.saved(document))
    body = (
        "read the paragraphs of the file\nsay the number of the above\nsay the last paragraph of the above\n"
        'extract the field "po number" from the file\nsay the above\n'
        'extract the field "order date" from the file\nsay the above\n'
        "extract the tables of the file\nthe tables are the above\nthe items are the 2nd table\n"
        "say the sum of the items's qty\nextract the text of the file\nsay the first line of the above"
    )
    assert log_of(body, files=[file]) == [
        "2", "Deliver by the end of May.", "PO-7781", "2026-05-12", "1200", "Coda Consulting Ltd",
    ]  # fmt: skip
