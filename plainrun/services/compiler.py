"""The bridge from process text to what services need of it: its name, inputs, and syntax errors."""

from __future__ import annotations

from dataclasses import dataclass

from plainrun.errors import InvalidInput, TooLarge


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
    return ProcessInfo(name=program.name[:100], inputs=list(program.inputs))
