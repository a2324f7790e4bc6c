"""Files: read text, CSV and Excel rows; write CSV and text files."""

from __future__ import annotations

import csv
import io
from typing import Any

from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.values import FileRef, to_text

_EXCEL_TYPES = ("spreadsheetml", "ms-excel")


def decode(data: bytes) -> str:
    """Bytes as text: UTF-8 (with or without a byte-order mark), else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@procedure("to read the text of a (file)")
def read_text(file: FileRef, env: Environment) -> str:
    return decode(env.read_file(file.id))


@procedure("to read the csv rows of a (file)")
def read_csv(file: FileRef, env: Environment) -> list[dict[str, str]]:
    text = decode(env.read_file(file.id))
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))


@procedure("to read the excel rows of a (file)")
def read_excel(file: FileRef, env: Environment, sheet: str | None = None) -> list[dict[str, Any]]:
    """The rows of the first sheet (or the sheet named in ``the sheet is …``); row 1 holds the headers."""
    import openpyxl

    data = env.read_file(file.id)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl's errors (zip, XML) are about the bytes: say what the file is not
        raise ValueError(f"{file.name} is not an Excel workbook") from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise ValueError(f'{file.name} has no sheet "{sheet}" (it has: {", ".join(book.sheetnames)})')
        worksheet = book[sheet] if sheet else book.worksheets[0]
        rows = worksheet.iter_rows(values_only=True)
        headers = [to_text(h) if h is not None else f"column {i + 1}" for i, h in enumerate(next(rows, ()))]
        out = []
        for row in rows:
            if all(cell is None for cell in row):
                continue
            out.append(
                {headers[i]: ("" if cell is None else cell) for i, cell in enumerate(row) if i < len(headers)}
            )
        return out
    finally:
        book.close()


@procedure("to read the rows of a (file)")
def read_rows(file: FileRef, env: Environment) -> list[dict[str, Any]]:
    """CSV or Excel rows, by the file's type or name."""
    if file.name.lower().endswith((".xlsx", ".xlsm")) or any(t in file.content_type for t in _EXCEL_TYPES):
        return read_excel(file, env)
    return read_csv(file, env)


@procedure("to write the (rows) to a csv file named (name)")
def write_csv(rows: list[Any], name: str, env: Environment) -> FileRef:
    headers: list[str] = []
    for row in rows:
        for key in row if isinstance(row, dict) else []:
            if key not in headers:
                headers.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if headers:
        writer.writerow(headers)
        writer.writerows([to_text(row.get(h, "")) for h in headers] for row in rows)
    else:
        writer.writerows([to_text(row)] for row in rows)
    return env.write_file(name, buffer.getvalue().encode(), "text/csv")


@procedure("to write a (text) to a file named (name)")
def write_text(text: str, name: str, env: Environment) -> FileRef:
    return env.write_file(name, text.encode(), "text/plain")
