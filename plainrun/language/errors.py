"""Errors of the process language, and the tree below their root.

    PlainrunError                      (plainrun.errors)
    └── LanguageError                  anything the language raises to its callers
        ├── ProcessSyntaxError         the source does not parse; ``.errors`` lists every issue
        ├── ProcessRuntimeError        a step failed while running (becomes an exception on its line)
        │   ├── MissingFact            a fact or field that must exist does not
        │   ├── ConversionError        a value cannot become a number, date or text
        │   ├── BookError              a book procedure raised, or got arguments of the wrong type
        │   └── LimitExceeded          a run passed one of its limits (loop, depth, text, memory)
        ├── StateError                 a saved execution state cannot be used to resume
        └── BookDefinitionError        a book procedure is declared wrongly (bad phrase, bad signature)

Each class's docstring is its default message. Runtime errors never escape ``Execution.run``: they
become a ``Paused`` or ``Failed`` outcome on the line where they happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plainrun.errors import PlainrunError


class LanguageError(PlainrunError):
    """The process language failed."""

    status_code = 400


@dataclass(frozen=True)
class SyntaxIssue:
    """One problem in a process file, at a 1-based line and column."""

    line: int
    column: int
    message: str
    source_line: str = ""
    filename: str = "<process>"

    def render(self) -> str:
        """The issue with its source line and a caret under the column."""
        head = f"{self.filename}:{self.line}:{self.column}: {self.message}"
        if not self.source_line:
            return head
        text = self.source_line.replace("\t", "  ")
        # Columns count characters of the raw line; tabs were widened, so move the caret with them.
        prefix = self.source_line[: max(self.column - 1, 0)].replace("\t", "  ")
        return f"{head}\n    {text}\n    {' ' * len(prefix)}^"


class ProcessSyntaxError(LanguageError):
    """The process does not parse."""

    def __init__(self, errors: Sequence[SyntaxIssue]):
        self.errors = sorted(errors, key=lambda issue: (issue.line, issue.column))
        super().__init__(
            "\n".join(issue.render() for issue in self.errors),
            details=[("error", f"line {i.line}, column {i.column}: {i.message}") for i in self.errors],
        )


class ProcessRuntimeError(LanguageError):
    """A step of the process failed."""

    kind = "error"

    def __init__(self, message: str | None = None, *, facts: Sequence[str] = (), column: int | None = None):
        super().__init__(message)
        self.facts = list(facts)
        #: The column of the part of the line that failed, when it is known (else the statement's).
        self.column = column


class MissingFact(ProcessRuntimeError):
    """A fact that must exist was not found."""

    kind = "missing"


class ConversionError(ProcessRuntimeError):
    """The value cannot be converted."""

    kind = "conversion"


class BookError(ProcessRuntimeError):
    """A book procedure failed."""

    kind = "book"


class LimitExceeded(ProcessRuntimeError):
    """The run passed one of its limits."""

    kind = "limit"


class StateError(LanguageError):
    """The saved execution state cannot be resumed."""


class BookDefinitionError(LanguageError):
    """A book procedure is declared wrongly."""
