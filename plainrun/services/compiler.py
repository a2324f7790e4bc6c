"""The bridge from process text to what services need of it: its name, inputs, and syntax errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from plainrun.errors import InvalidInput, TooLarge

if TYPE_CHECKING:
    from plainrun.language.vocabulary import Vocabulary


#: The longest name a process may have, in characters.
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    name: str
    inputs: list[str]


class ProcessSourceInvalid(InvalidInput):
    """The process has syntax errors."""


def inspect_source(source: str, *, max_bytes: int) -> ProcessInfo:
    """Parse a process; every syntax error becomes one detail ``line L, column C: message``."""
    if len(source.encode()) > max_bytes:
        raise TooLarge(f"The process source is larger than {max_bytes} bytes.")
    from plainrun.language import ProcessSyntaxError, parse

    try:
        program = parse(source)
    except ProcessSyntaxError as exc:
        raise ProcessSourceInvalid(
            f"The process has {len(exc.errors)} syntax error(s).",
            details=[(f"line {e.line}, column {e.column}", e.message) for e in exc.errors],
        ) from exc
    if len(program.name) > MAX_NAME:
        header = program.process
        raise ProcessSourceInvalid(
            "The process's name is too long.",
            details=[
                (
                    f"line {header.line}, column {header.column}",
                    f"the process's name is {len(program.name)} characters long; "
                    f"the limit is {MAX_NAME} (shorten its first line)",
                )
            ],
        )
    return ProcessInfo(name=program.name, inputs=list(program.inputs))


def vocabulary_of(source: str, line: int, *, max_bytes: int) -> Vocabulary:
    """The phrases a process can call and the facts in scope on ``line``, even with syntax errors."""
    if len(source.encode()) > max_bytes:
        raise TooLarge(f"The process source is larger than {max_bytes} bytes.")
    from plainrun.language.vocabulary import vocabulary

    return vocabulary(source, line)
