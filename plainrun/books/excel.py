"""Excel: the rows of a workbook's sheets (by name), the values of their formulas, and writing one.

read the excel rows of the file where
  the sheet is "Q1"
write the report rows to an excel file named "report.xlsx" where
  the sheet is "Invoices"

Row 1 of a sheet holds its headings. A formula reads as its value: the result the workbook saved
with it or, when it saved none (a workbook written by a program), the value worked out by
:mod:`plainrun.books.formulas`. Dates read as dates, whole-day date-times as dates.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from plainrun.books.formulas import FormulaError, evaluate
from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.errors import BookError
from plainrun.language.values import NOT_FOUND, FileRef, Money, to_text

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_OLE = b"\xd0\xcf\x11\xe0"


def _open(data: bytes, name: str, formulas: bool) -> Any:
    import openpyxl

    if data[:4] == _OLE:
        raise BookError(f"{name} is an old .xls workbook or one protected by a password; save it as .xlsx")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=not formulas)
    except Exception:
        raise BookError(f"{name} is not an Excel workbook (.xlsx)") from None


class Workbook:
    """The cells of a workbook's sheets, read once each; formulas without a saved value worked out."""

    def __init__(self, data: bytes, name: str):
        self.name = name
        self._values = _open(data, name, formulas=False)
        self._formulas: Any = None
        self._data = data
        self._grids: dict[str, list[tuple[Any, ...]]] = {}
        self._formula_grids: dict[str, list[tuple[Any, ...]]] = {}
        self._working: set[tuple[str, int, int]] = set()

    @property
    def sheet_names(self) -> list[str]:
        return list(self._values.sheetnames)

    def close(self) -> None:
        self._values.close()
        if self._formulas is not None:
            self._formulas.close()

    def sheet(self, wanted: str | None) -> str:
        names = self.sheet_names
        if wanted is None:
            return names[0]
        for name in names:
            if name.strip().lower() == wanted.strip().lower():
                return name
        raise BookError(f'{self.name} has no sheet named "{wanted}" (it has: {", ".join(names)})')

    def _grid(self, sheet: str) -> list[tuple[Any, ...]]:
        if sheet not in self._grids:
            self._grids[sheet] = list(self._values[sheet].iter_rows(values_only=True))
        return self._grids[sheet]

    def _formula_grid(self, sheet: str) -> list[tuple[Any, ...]]:
        if self._formulas is None:
            self._formulas = _open(self._data, self.name, formulas=True)
        if sheet not in self._formula_grids:
            self._formula_grids[sheet] = list(self._formulas[sheet].iter_rows(values_only=True))
        return self._formula_grids[sheet]

    def value(self, sheet: str | None, row: int, column: int) -> Any:
        """The value of a cell (1-based row and column), its formula worked out if need be."""
        name = self.sheet(sheet)
        grid = self._grid(name)
        cell = grid[row - 1][column - 1] if row <= len(grid) and column <= len(grid[row - 1]) else None
        if cell is not None:
            return cell
        formulas = self._formula_grid(name)
        source = (
            formulas[row - 1][column - 1]
            if row <= len(formulas) and column <= len(formulas[row - 1])
            else None
        )
        if not (isinstance(source, str) and source.startswith("=")):
            return None
        key = (name, row, column)
        if key in self._working:
            raise FormulaError("the formula refers to itself")
        self._working.add(key)
        try:
            return evaluate(source, name, self.value)
        finally:
            self._working.discard(key)

    def rows(self, sheet: str | None) -> Iterator[list[Any]]:
        name = self.sheet(sheet)
        for number, row in enumerate(self._grid(name), start=1):
            cells = list(row)
            if any(cell is None for cell in cells):
                cells = [
                    self._cell(name, number, column) if cell is None else cell
                    for column, cell in enumerate(cells, start=1)
                ]
            yield [_plain(cell) for cell in cells]

    def _cell(self, sheet: str, row: int, column: int) -> Any:
        try:
            return self.value(sheet, row, column)
        except FormulaError as err:
            letters = _letters(column)
            raise BookError(f"{self.name}, sheet {sheet}, cell {letters}{row}: {err}") from None


def _letters(column: int) -> str:
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def _plain(cell: Any) -> Any:
    if isinstance(cell, dt.datetime) and cell.time() == dt.time(0):
        return cell.date()
    if isinstance(cell, Decimal) and cell == cell.to_integral_value():
        return int(cell)
    return cell


def table_of(rows: Iterator[list[Any]]) -> list[dict[str, Any]]:
    """Rows under the headings of the first row, as a table; empty rows are left out."""
    headers = [to_text(h) if h not in (None, "") else f"column {i + 1}" for i, h in enumerate(next(rows, []))]
    out = []
    for row in rows:
        if all(cell in (None, "") for cell in row):
            continue
        out.append(
            {headers[i]: ("" if cell is None else cell) for i, cell in enumerate(row) if i < len(headers)}
        )
    return out


def workbook(file: FileRef, env: Environment) -> Workbook:
    return Workbook(env.read_file(file.id), file.name)


@procedure("to read the excel rows of a (file)")
def read_excel(file: FileRef, env: Environment, sheet: str | None = None) -> list[dict[str, Any]]:
    """The rows of the first sheet (or the sheet named in ``the sheet is …``); row 1 holds the headers."""
    book = workbook(file, env)
    try:
        return table_of(book.rows(sheet))
    finally:
        book.close()


@procedure("to read the sheet names of a (file)")
def sheet_names(file: FileRef, env: Environment) -> list[str]:
    book = workbook(file, env)
    try:
        return book.sheet_names
    finally:
        book.close()


@procedure("to read the sheets of a (file)")
def read_sheets(file: FileRef, env: Environment) -> dict[str, list[dict[str, Any]]]:
    """Every sheet's rows, as a record by sheet name (``the workbook's "Q1"``)."""
    book = workbook(file, env)
    try:
        return {name: table_of(book.rows(name)) for name in book.sheet_names}
    finally:
        book.close()


_MONEY_FORMATS = {"$": '"$"#,##0.00', "€": '#,##0.00 "€"', "£": '"£"#,##0.00', "¥": '"¥"#,##0'}


def _cell_value(value: Any) -> tuple[Any, str | None]:
    """A value as a cell holds it, and its number format."""
    if isinstance(value, Money):
        return value.amount, _MONEY_FORMATS.get(value.currency, f'#,##0.00 "{value.currency}"')
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None), "yyyy-mm-dd hh:mm"
    if isinstance(value, dt.date):
        return value, "yyyy-mm-dd"
    if isinstance(value, Decimal):
        return value, "#,##0.00" if value != value.to_integral_value() else None
    if value is NOT_FOUND or value is None:
        return None, None
    if isinstance(value, bool | int | str):
        return value, None
    return to_text(value), None


def _fill_sheet(worksheet: Any, rows: list[Any]) -> None:
    from openpyxl.styles import Font

    headers: list[str] = []
    for row in rows:
        for key in row if isinstance(row, dict) else []:
            if key not in headers:
                headers.append(key)
    if not headers:
        headers = ["value"]
        rows = [{"value": row} for row in rows]
    worksheet.append(headers)
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in headers]
    for number, row in enumerate(rows, start=2):
        for column, header in enumerate(headers, start=1):
            value, number_format = _cell_value(row.get(header) if isinstance(row, dict) else None)
            cell = worksheet.cell(row=number, column=column, value=value)
            if number_format:
                cell.number_format = number_format
            widths[column - 1] = max(widths[column - 1], len(to_text(value)) + 2)
    for column, width in enumerate(widths, start=1):
        worksheet.column_dimensions[_letters(column)].width = min(60, max(8, width + 2))
    worksheet.freeze_panes = "A2"


@procedure("to write the (rows) to an excel file named (name)")
def write_excel(rows: Any, name: str, env: Environment, sheet: str | None = None) -> FileRef:
    """A workbook of one sheet of ``rows`` (a table), or of one sheet per field of a record whose fields
    are tables or records (a record is a sheet of one row)."""
    import openpyxl

    if isinstance(rows, dict) and rows and all(isinstance(v, list | dict) for v in rows.values()):
        sheets = {title: v if isinstance(v, list) else [v] for title, v in rows.items()}
    else:
        sheets = {sheet or "Sheet1": rows if isinstance(rows, list) else [rows]}
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, sheet_rows in sheets.items():
        _fill_sheet(book.create_sheet(_sheet_title(title)), list(sheet_rows))
    buffer = io.BytesIO()
    book.save(buffer)
    filename = name if name.lower().endswith((".xlsx", ".xlsm")) else f"{name}.xlsx"
    return env.write_file(filename, buffer.getvalue(), XLSX_TYPE)


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in str(title)).strip() or "Sheet"
    return cleaned[:31]
