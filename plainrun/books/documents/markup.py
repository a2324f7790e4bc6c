"""HTML (an e-mail's HTML body, a saved web page) as text, and its tables.

Block elements start new lines, ``<br>`` breaks a line, list items get a bullet, the cells of a
table row are kept apart by tabs (so its label and value stay two segments), and scripts, styles
and the head are left out. Entities are decoded and runs of white space inside a line collapse.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    re.findall(
        r"\w+",
        "address article aside blockquote div dl dt dd fieldset figcaption figure footer form h1 h2 h3 h4 "
        "h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul title",
    )
)
_HIDDEN = frozenset({"script", "style", "head", "template", "noscript"})
_HTML = re.compile(r"<\s*(html|body|p|div|br|table|span|a|b|strong|td|li|h[1-6])\b[^>]*>", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:1000].lower()
    return head.startswith(("<!doctype html", "<html")) or len(_HTML.findall(text[:20000])) >= 2


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.hidden = 0
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.newline()
        elif tag == "table":
            self.newline()
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.newline()
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            if self.current and self.current[-1].strip():
                self.current.append("\t")
            self.cell = []
        elif tag in _BLOCKS:
            self.newline()
            if tag == "li":
                self.current.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in ("td", "th") and self.cell is not None:
            if self.tables and self.tables[-1]:
                self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag in _BLOCKS:
            self.newline()

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.current.append(data)
        if self.cell is not None:
            self.cell.append(data)

    def newline(self) -> None:
        parts = "".join(self.current).split("\t")
        line = "\t".join(" ".join(part.split()) for part in parts).strip()
        if line:
            self.lines.append(line)
        self.current = []


def read_html(markup: str) -> tuple[str, list[list[list[str]]]]:
    """The text of ``markup`` (one line per block, table cells apart by tabs) and its tables' cells."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    reader.newline()
    return "\n".join(reader.lines), [table for table in reader.tables if table]
