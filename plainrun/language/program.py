"""Parsing a whole process file into a ``Program``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from plainrun.language import nodes as n
from plainrun.language.blocks import Line, build_blocks
from plainrun.language.books import Library, default_library
from plainrun.language.discovery import discover_inputs
from plainrun.language.errors import ProcessSyntaxError, SyntaxIssue
from plainrun.language.lexicon import KnownNames
from plainrun.language.names import normalise, process_key
from plainrun.language.phrases import PhraseError, read_phrase
from plainrun.language.procedures import Known, ProcedureIndex
from plainrun.language.statements import StatementParser

MAX_SOURCE_CHARS = 1_000_000


@dataclass(frozen=True)
class Program:
    """A parsed process: its procedures (the first one is the process) and its inputs."""

    name: str
    procedures: tuple[n.Procedure, ...]
    inputs: list[str]
    source: str = field(repr=False)
    filename: str = "<process>"
    #: ``on exception: fail|pause`` written at the top of the process; None when it says nothing.
    on_exception: str | None = None

    @property
    def process(self) -> n.Procedure:
        return self.procedures[0]

    def procedure_called(self, name: str) -> str | None:
        """The phrase key of the ``to …`` procedure a child run calls ``name``, if there is one."""
        wanted = process_key(name)
        for procedure in self.procedures:
            words = procedure.name.split(" ", 1)
            if procedure.kind == "to" and len(words) == 2 and normalise(words[1]) == wanted:
                return procedure.phrase.key
        return None

    def procedure(self, key: str) -> n.Procedure | None:
        """The procedure whose phrase key is ``key`` (as in ``CallExpr.procedure``)."""
        for procedure in self.procedures:
            if procedure.phrase.key == key:
                return procedure
        return None


def parse(source: str, *, filename: str = "<process>", library: Library | None = None) -> Program:
    """Parses ``source``; raises ProcessSyntaxError listing every problem of the file.

    ``library`` is the books the process may call; by default, every installed book.
    """
    lib = library if library is not None else default_library()
    if len(source) > MAX_SOURCE_CHARS:
        raise ProcessSyntaxError(
            [SyntaxIssue(1, 1, f"the process is longer than {MAX_SOURCE_CHARS} characters", "", filename)]
        )
    try:
        return _parse(source, filename, lib.known())
    except RecursionError:
        raise ProcessSyntaxError(
            [SyntaxIssue(1, 1, "the process is nested too deeply", "", filename)]
        ) from None


Header = tuple[Line, str, n.Phrase]


def _parse(source: str, filename: str, books: Iterable[Known]) -> Program:
    roots, issues = build_blocks(source, filename)
    headers = _headers(roots, issues, filename)
    if not roots and not issues:
        issues.append(
            SyntaxIssue(
                1,
                1,
                'the file has no procedure; start with a name such as "to process an invoice"',
                "",
                filename,
            )
        )
    own = [Known(kind, phrase, "file", _label(line)) for line, kind, phrase in headers]
    params = [param for _, _, phrase in headers for param in phrase.params]
    known = KnownNames.of_lines([line for line, _, _ in headers], params)
    statements = StatementParser(ProcedureIndex([*own, *books]), filename, issues, known)
    procedures = []
    on_exception = None
    for position, (line, kind, phrase) in enumerate(headers):
        on_exception = _directives(line, position == 0, issues, filename) or on_exception
        if not line.children:
            message = "expected the procedure's steps, indented below its name"
            issues.append(SyntaxIssue(line.number, line.tokens[-1].end, message, line.text, filename))
        body = statements.block(line.children, predicate=kind == "if")
        name = " ".join(t.text for t in line.tokens)
        procedures.append(n.Procedure(line.number, line.column, name, kind, phrase, body))
    if issues:
        raise ProcessSyntaxError(issues)
    name = procedures[0].name
    if procedures[0].kind == "to":
        name = name.split(" ", 1)[1]
    return Program(name, tuple(procedures), discover_inputs(procedures), source, filename, on_exception)


def _headers(roots: list[Line], issues: list[SyntaxIssue], filename: str) -> list[Header]:
    """The procedures' name lines with their kinds and phrases; a line that is no name, or names a
    procedure twice, is an issue."""
    headers: list[Header] = []
    seen: dict[str, int] = {}
    for line in roots:
        if line.broken:
            continue
        try:
            kind, phrase = read_phrase(line.tokens)
        except PhraseError as err:
            issues.append(SyntaxIssue(line.number, err.column, err.message, line.text, filename))
            continue
        if phrase.key in seen:
            message = f"this procedure is already defined on line {seen[phrase.key]}"
            issues.append(SyntaxIssue(line.number, line.column, message, line.text, filename))
            continue
        seen[phrase.key] = line.number
        headers.append((line, kind, phrase))
    return headers


def _label(line: Line) -> str:
    """A procedure's name line as its author wrote it, without ``to``."""
    words = [t.text for t in line.tokens]
    return " ".join(words[1:] if words[0].lower() == "to" else words)


def _directives(header: Line, is_process: bool, issues: list[SyntaxIssue], filename: str) -> str | None:
    """Takes ``on exception: fail`` (or ``pause``) off the first lines of the process's steps.

    The process then fails at its first exception instead of waiting for guidance (or, with
    ``pause``, waits, whatever the process's setting says). Anywhere else the line is an error.
    """
    found = None
    kept = []
    leading = is_process
    for line in header.children:
        words = [t.text.lower() for t in line.tokens if t.text != ":"]
        if line.broken or words[:2] != ["on", "exception"]:
            leading = False
            kept.append(line)
            continue
        if not leading:
            issues.append(
                SyntaxIssue(
                    line.number,
                    line.column,
                    '"on exception: fail" goes on the first lines of the process, before its steps',
                    line.text,
                    filename,
                )
            )
        elif words[2:] not in (["fail"], ["pause"]) or line.children:
            issues.append(
                SyntaxIssue(
                    line.number,
                    line.column,
                    'write "on exception: fail" or "on exception: pause"',
                    line.text,
                    filename,
                )
            )
        else:
            found = words[2]
    header.children[:] = kept
    return found
