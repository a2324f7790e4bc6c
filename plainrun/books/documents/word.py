"""Word documents (.docx, python-docx): paragraphs and tables in the order they are written.

The page header's paragraphs come first (a letterhead often holds the sender's name), then the
body. A table's merged cells are read once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field


@dataclass
class WordContent:
    paragraphs: list[str] = field(default_factory=list)
    #: Each table's rows of cell texts.
    tables: list[list[list[str]]] = field(default_factory=list)
    #: Paragraphs and tables in order: a table is written as its rows, cells apart by tabs.
    text: str = ""


def read_docx(data: bytes) -> WordContent:
    """The content of a .docx; raises ValueError when it is not one."""
    import docx
    from docx.table import Table as DocxTable

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:
        raise ValueError("not a Word document") from None
    content = WordContent()
    lines: list[str] = []
    for section in document.sections[:1]:
        for paragraph in section.header.paragraphs:
            if paragraph.text.strip():
                lines.append(paragraph.text.strip())
    for block in document.iter_inner_content():
        if isinstance(block, DocxTable):
            rows = _rows(block)
            content.tables.append(rows)
            lines.extend("\t".join(row) for row in rows)
        elif block.text.strip():
            content.paragraphs.append(block.text.strip())
            lines.append(block.text.strip())
    content.text = "\n".join(lines)
    return content


def _rows(table: object) -> list[list[str]]:
    rows = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        rows.append(cells)
    return rows
