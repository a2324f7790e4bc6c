"""Turning the lines of a file into a tree of indented blocks.

Tabs count as two spaces. A block's level is set by its first line; a later line must come back to
a level that was opened before. Blank lines and comment lines are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plainrun.language.errors import SyntaxIssue
from plainrun.language.tokens import LexError, Token, tokenize


@dataclass
class Line:
    number: int
    indent: int
    text: str
    tokens: list[Token]
    children: list[Line] = field(default_factory=list)
    broken: bool = False  # the line did not tokenize; its error is already reported

    @property
    def column(self) -> int:
        return self.tokens[0].column


@dataclass
class _Block:
    level: int
    lines: list[Line]


def _indent_of(text: str) -> int:
    width = 0
    for ch in text:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 2
        else:
            break
    return width


def build_blocks(source: str, filename: str) -> tuple[list[Line], list[SyntaxIssue]]:
    """The top-level lines of ``source`` with their children, and the problems found."""
    issues: list[SyntaxIssue] = []
    roots: list[Line] = []
    stack = [_Block(0, roots)]
    for number, raw in enumerate(source.splitlines(), start=1):
        try:
            tokens = tokenize(raw)
        except LexError as err:
            issues.append(SyntaxIssue(number, err.column, err.message, raw, filename))
            column = len(raw) - len(raw.lstrip()) + 1
            tokens, broken = [Token("broken", "", None, column, column)], True
        else:
            broken = False
        if not tokens:
            continue
        line = Line(number, _indent_of(raw), raw, tokens, broken=broken)
        current = stack[-1]
        if line.indent > current.level:
            if not current.lines:
                issues.append(
                    SyntaxIssue(
                        number,
                        line.column,
                        "this line is indented deeper than its block allows",
                        raw,
                        filename,
                    )
                )
                current.lines.append(line)
                continue
            block = _Block(line.indent, current.lines[-1].children)
            stack.append(block)
            block.lines.append(line)
            continue
        while len(stack) > 1 and stack[-1].level > line.indent:
            stack.pop()
        if stack[-1].level != line.indent:
            issues.append(
                SyntaxIssue(
                    number,
                    line.column,
                    "this line goes back to an indentation that no block opened",
                    raw,
                    filename,
                )
            )
        stack[-1].lines.append(line)
    return roots, issues
