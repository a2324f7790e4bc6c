"""Where the words of a page are: words grouped into lines, and lines into segments.

Every way of reading a document ends here: the words of a PDF's text layer, of an OCR'd scan, or
of a plain text (one character is one unit wide). A *line* is the words
whose heights overlap; a *segment* is a run of words of a line with no wide gap inside (the gap
between two columns, or between a label and a value set apart from it). Fields and tables are
read from lines and segments, so they work the same for every kind of document.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

#: A gap wider than this many line heights ends a segment (a word space is about a quarter of one).
SEGMENT_GAP = 0.9


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float | None = None

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class Segment:
    words: tuple[Word, ...]

    @cached_property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def top(self) -> float:
        return min(word.top for word in self.words)

    @property
    def height(self) -> float:
        return statistics.median(word.height for word in self.words)

    def overlap(self, x0: float, x1: float) -> float:
        return max(0.0, min(self.x1, x1) - max(self.x0, x0))


@dataclass
class Line:
    words: list[Word]
    page: int = 1
    segments: list[Segment] = field(init=False)

    def __post_init__(self) -> None:
        self.words.sort(key=lambda word: word.x0)
        self.segments = _segments(self.words, self.height)

    @property
    def top(self) -> float:
        return min(word.top for word in self.words)

    @property
    def bottom(self) -> float:
        return max(word.bottom for word in self.words)

    @cached_property
    def height(self) -> float:
        return statistics.median(word.height for word in self.words) or 1.0

    @property
    def text(self) -> str:
        return "    ".join(segment.text for segment in self.segments)


def _segments(words: Sequence[Word], height: float) -> list[Segment]:
    groups: list[list[Word]] = []
    for word in words:
        if groups and word.x0 - groups[-1][-1].x1 <= SEGMENT_GAP * height:
            groups[-1].append(word)
        else:
            groups.append([word])
    return [Segment(tuple(group)) for group in groups]


def lines_of(words: Iterable[Word], page: int = 1) -> list[Line]:
    """The words grouped into lines (their vertical extents overlap by half), top to bottom."""
    rows: list[list[Word]] = []
    spans: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: (w.middle, w.x0)):
        if not word.text.strip():
            continue
        best, best_overlap = -1, 0.0
        for index in range(len(rows) - 1, max(len(rows) - 4, -1), -1):
            top, bottom = spans[index]
            overlap = min(bottom, word.bottom) - max(top, word.top)
            needed = 0.5 * min(bottom - top, word.height)
            if overlap > needed and overlap > best_overlap:
                best, best_overlap = index, overlap
        if best < 0:
            rows.append([word])
            spans.append((word.top, word.bottom))
        else:
            rows[best].append(word)
            top, bottom = spans[best]
            spans[best] = (
                (top, bottom) if len(rows[best]) > 2 else (min(top, word.top), max(bottom, word.bottom))
            )
    lines = [Line(row, page) for row in rows]
    lines.sort(key=lambda line: line.top)
    return lines


def text_words(text: str) -> list[list[Word]]:
    """The words of a plain text, one list per line: one unit per character, lines 2.5 units apart
    (so that three spaces or more part two segments, and one or two do not)."""
    out: list[list[Word]] = []
    for number, raw in enumerate(text.replace("\t", "    ").splitlines()):
        words: list[Word] = []
        column = 0
        for part in raw.split(" "):
            if part:
                words.append(Word(part, column, number * 2.5, column + len(part), number * 2.5 + 2.5))
            column += len(part) + 1
        out.append(words)
    return out


def text_lines(text: str) -> list[Line]:
    return [Line(words) for words in text_words(text) if words]


def render(lines: Sequence[Line]) -> str:
    """The lines as text: segments apart by four spaces, a blank line where the page leaves a gap."""
    out: list[str] = []
    previous: Line | None = None
    for line in lines:
        if previous is not None and (
            line.page != previous.page or line.top - previous.bottom > 1.5 * previous.height
        ):
            out.append("")
        out.append(line.text)
        previous = line
    return "\n".join(out)
