"""Tables: a header row and the rows under it, as the language's tables (lists of records).

A table comes from a PDF's ruling lines (pdfplumber finds those), from a Word, HTML or Excel
table, or from the layout of words alone (:func:`layout_tables`): a line of two or more
headings without digits, then the lines whose segments fall under those headings. A row that
fills only the first text column continues the row above (a description on two lines); a line of
totals (``Subtotal``, ``Total``, ``VAT``), a wide gap or a line that fits no column ends the table.
A table that goes on over the next page under the same headings is one table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plainrun.books.documents.fields import COLON, known_field
from plainrun.books.documents.layout import Line, Segment, Word
from plainrun.books.documents.normalise import DateOrder, cell_value

_ENDS = {"subtotal", "total", "tax"}
_DIGIT = re.compile(r"\d")


@dataclass
class Table:
    """Headings and rows of cell texts, with where the table was found."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    page: int = 1
    top: float = 0.0

    def value(self, order: DateOrder) -> list[dict[str, Any]]:
        """The table as the language's table: one record per row, keyed by the headings."""
        names = headings(self.header)
        out = []
        for row in self.rows:
            cells = [*row, *[""] * (len(names) - len(row))][: len(names)]
            if any(cell.strip() for cell in cells):
                out.append({name: cell_value(cell, order) for name, cell in zip(names, cells, strict=True)})
        return out


def headings(header: Sequence[str]) -> list[str]:
    """Headings made unique and never empty (``column 3`` where there is none)."""
    names: list[str] = []
    for index, raw in enumerate(header):
        name = " ".join(raw.split()) or f"column {index + 1}"
        base, count = name, 2
        while name.lower() in (n.lower() for n in names):
            name, count = f"{base} {count}", count + 1
        names.append(name)
    return names


def from_rows(rows: Sequence[Sequence[Any]], page: int = 1) -> Table | None:
    """A table whose first non-empty row holds the headings (Word, HTML, a PDF's ruled table)."""
    texts = [[" ".join(str(cell or "").split()) for cell in row] for row in rows]
    texts = [row for row in texts if any(row)]
    if len(texts) < 2 or max(len(row) for row in texts) < 2:
        return None
    return Table(texts[0], texts[1:], page)


def _is_heading(segment: Segment) -> bool:
    text = segment.text
    return (
        len(text.split()) <= 4
        and not _DIGIT.search(text)
        and not text.endswith(":")
        and sum(c.isalpha() for c in text) >= 2
    )


def _header_of(line: Line) -> bool:
    return len(line.segments) >= 2 and all(_is_heading(s) for s in line.segments)


def _ends_table(line: Line) -> bool:
    first = line.segments[0].text
    words = first.split()
    for count in range(min(4, len(words)), 0, -1):
        if known_field(" ".join(words[:count])) in _ENDS:
            return True
    return ":" in first and not _DIGIT.search(first.partition(":")[0])


def _column(segment: Segment | Word, columns: Sequence[Segment]) -> int:
    """The heading a cell falls under: the one it overlaps most, else the nearest."""
    overlaps = [max(0.0, min(segment.x1, c.x1) - max(segment.x0, c.x0)) for c in columns]
    best = max(range(len(columns)), key=lambda i: overlaps[i])
    if overlaps[best] > 0:
        return best
    distances = [max(c.x0 - segment.x1, segment.x0 - c.x1) for c in columns]
    return min(range(len(columns)), key=lambda i: distances[i])


def _cells(line: Line, columns: Sequence[Segment]) -> list[str]:
    cells: list[list[str]] = [[] for _ in columns]
    for segment in line.segments:
        spanned = [c for c in columns if segment.overlap(c.x0, c.x1) > 0.5 * (c.x1 - c.x0)]
        parts: Sequence[Segment | Word] = segment.words if len(spanned) > 1 else [segment]
        for part in parts:
            cells[_column(part, columns)].append(part.text)
    return [" ".join(cell) for cell in cells]


def _text_column(table: Table) -> int | None:
    """The first column whose cells are mostly words (where a long description goes on)."""
    for index in range(len(table.header)):
        cells = [row[index] for row in table.rows if index < len(row) and row[index]]
        if cells and sum(
            not _DIGIT.search(c) or len(re.findall(r"[^\W\d_]", c)) > 3 for c in cells
        ) * 2 > len(cells):
            return index
    return None


def layout_tables(lines: Sequence[Line]) -> list[Table]:
    """The tables the layout of the lines shows (see the module's docstring)."""
    tables: list[Table] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not _header_of(line):
            index += 1
            continue
        table, index = _read_rows(lines, index)
        if table is not None and table.rows:
            tables.append(table)
    return tables


def _read_rows(lines: Sequence[Line], start: int) -> tuple[Table | None, int]:
    header = lines[start]
    columns = header.segments
    table = Table([s.text for s in columns], [], header.page, header.top)
    previous = header
    index = start + 1
    while index < len(lines):
        line = lines[index]
        if line.page != header.page or line.top - previous.bottom > 2.5 * previous.height:
            break
        if _ends_table(line) or _header_of(line) or any(COLON.match(s.text) for s in line.segments):
            break
        if not table.rows and header.height > 1.6 * line.height:
            break  # a title over text, not headings over a row
        cells = _cells(line, columns)
        filled = [i for i, cell in enumerate(cells) if cell]
        if len(filled) >= 2:
            table.rows.append(cells)
        elif (
            len(filled) == 1
            and table.rows
            and filled[0] == _text_column(table)
            and line.top - previous.bottom < 0.8 * previous.height
        ):
            column = filled[0]
            table.rows[-1][column] = f"{table.rows[-1][column]} {cells[column]}".strip()
        else:
            break
        previous = line
        index += 1
    if not table.rows:
        return None, start + 1
    return table, index


def joined(tables: Sequence[Table]) -> list[Table]:
    """Tables with a page's table that goes on under the same headings on the next page as one."""
    out: list[Table] = []
    for table in tables:
        last = out[-1] if out else None
        if (
            last is not None
            and table.page == last.page + 1
            and [h.lower() for h in table.header] == [h.lower() for h in last.header]
        ):
            last.rows.extend(table.rows)
            last.page = table.page
        else:
            out.append(Table(list(table.header), [list(r) for r in table.rows], table.page, table.top))
    return out
