"""Reading what the services say about a process's text, for the pages."""

from __future__ import annotations

import re
from collections.abc import Iterable

from plainrun.errors import InvalidInput

_LINE = re.compile(r"line (\d+), column (\d+)")


def issues(details: Iterable[tuple[str, str]]) -> list[dict[str, object]]:
    """``("line L, column C", message)`` pairs as ``{line, column, message}``."""
    out: list[dict[str, object]] = []
    for where, message in details:
        found = _LINE.match(str(where))
        line, column = (int(found[1]), int(found[2])) if found else (0, 0)
        out.append({"line": line, "column": column, "message": str(message)})
    return out


def syntax_errors(exc: InvalidInput) -> list[dict[str, object]]:
    """The compiler's syntax errors as ``{line, column, message}``."""
    return issues((str(where), str(message)) for where, message in exc.details)
