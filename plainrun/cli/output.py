"""How commands print: tables for people (ids never cut), ``--json`` and ``-q`` for scripts, and
progress (a rich bar on a terminal, plain lines otherwise)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from plainrun.cli._common import console, err_console
from plainrun.client.models import Resource

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document, in the API's shapes")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ids, one per line")]

#: The columns whose values are ids: printed whole, whatever the width.
ID_COLUMNS = ("id", "process", "agent", "run", "test case", "new run")


def print_json(document: Any) -> None:
    """One JSON document on stdout (a resource, or a dict/list of resources)."""
    typer.echo(json.dumps(_wire(document), indent=2, ensure_ascii=False))


def _wire(value: Any) -> Any:
    if isinstance(value, Resource):
        return value.wire()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def listing(items: Sequence[Resource], **extra: Any) -> dict[str, Any]:
    """A list as the API's lists are: ``items`` and ``continuation_token`` (all pages read: null)."""
    return {"items": list(items), "continuation_token": None, **extra}


def print_ids(ids: Iterable[str]) -> None:
    for item in ids:
        typer.echo(item)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table; id columns are never wrapped or cut (the other columns are narrowed instead)."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    table = Table(*headers)
    for index, column in enumerate(table.columns):
        if headers[index] in ID_COLUMNS:
            column.no_wrap = True
            column.min_width = max([len(headers[index]), *(len(row[index]) for row in cells)])
    for row in cells:
        table.add_row(*(Text(v) for v in row))
    console.print(table)


@contextlib.contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int, str], None]]:
    """``advance(n, note)`` moves the progress of ``label`` on by ``n``: a rich bar on stderr when
    it is a terminal, else a plain line per step."""
    if err_console.is_terminal:
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n, note: bar.update(task, advance=n, description=f"{label} {note}".strip())
        return
    done = 0

    def line(n: int, note: str) -> None:
        nonlocal done
        done += n
        of = f"/{total}" if total is not None else ""
        err_console.print(f"{label}: {done}{of} {note}".rstrip(), highlight=False, markup=False)

    yield line
