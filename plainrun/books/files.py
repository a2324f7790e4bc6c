"""Files: read text and CSV rows (Excel rows through the excel book); write CSV and text files."""

from __future__ import annotations

import csv
import io
from typing import Any

from plainrun.books.excel import read_excel
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
