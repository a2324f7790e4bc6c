"""Files and documents: CSV, Excel and PDF read through the environment; CSV and text written."""

from __future__ import annotations

import io
from collections.abc import Callable

import openpyxl

from plainrun.language import LocalEnvironment, Paused

Log = Callable[..., list[str]]


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text is ``lines``, with a correct cross-reference table."""
    text = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_csv_rows_with_semicolons_and_a_byte_order_mark(log_of: Log, env: LocalEnvironment) -> None:
    file = env.add_file("in.csv", "\ufeffname;amount\nAnn;1,50\nBo;2\n".encode())
    assert log_of(
        "read the csv rows of the file\nthe rows are the above\n"
        "say the first row's name\nsay the number of the rows",
        files=[file],
    ) == ["Ann", "2"]


def test_excel_rows_by_sheet_and_by_type(log_of: Log, env: LocalEnvironment) -> None:
    book = openpyxl.Workbook()
    book.active.append(["Vendor", "Amount"])
    book.active.append(["Acme", 12.5])
    book.active.append([None, None])
    other = book.create_sheet("Other")
    other.append(["Code"])
    other.append(["X1"])
    buffer = io.BytesIO()
    book.save(buffer)
    file = env.add_file("book.xlsx", buffer.getvalue())
    body = (
        "read the rows of the file\nthe rows are the above\nsay the number of the rows\n"
        "say the first row's amount + 1\n"
        'read the excel rows of the file where\n  the sheet is "Other"\nsay the above\'s code'
    )
    assert log_of(body, files=[file]) == ["1", "13.5", "X1"]


def test_writing_csv_and_text_files_gives_file_values(log_of: Log, env: LocalEnvironment) -> None:
    body = (
        'write the people to a csv file named "out.csv"\nthe csv is the above\n'
        "read the text of the csv\nsay the above\nsay the csv's name\nsay the csv's size\n"
        'write "hello" to a file named "note.txt"\nread the text of the above\nsay the above'
    )
    people = [{"name": "Ann", "age": 41}, {"name": "Bo", "team": "x"}]
    log = log_of(body, {"people": people})
    assert log[0].splitlines() == ["name,age,team", "Ann,41,", "Bo,,x"]
    assert log[1:] == ["out.csv", str(len(log[0].encode())), "hello"]


def test_pdf_text_and_labelled_fields(log_of: Log, env: LocalEnvironment) -> None:
    file = env.add_file("invoice.pdf", minimal_pdf(["Invoice Number: A-17", "Total: 1,200.00", "Thank you"]))
    body = (
        "extract the text of the file\nsay the first line of the above\n"
        "extract the fields of the file\nsay the above's \"invoice number\"\nsay the above's total + 1\n"
        'extract the field "total" from the file\nsay the above\n'
        'extract the field "po number" from "PO Number = 991"\nsay the above'
    )
    assert log_of(body, files=[file]) == ["Invoice Number: A-17", "A-17", "1201", "1200", "991"]


def test_reading_a_file_that_is_not_a_file_is_an_exception(run_body: Callable[..., object]) -> None:
    outcome = run_body('read the text of "notes.txt"')
    assert isinstance(outcome, Paused) and outcome.kind == "book"
    assert "needs a file for (file), but got text" in outcome.question
