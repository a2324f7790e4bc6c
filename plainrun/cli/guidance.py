"""``plainrun runs answer …`` (guidance for a waiting run) and ``plainrun learnings …`` (remembered answers).

Mount with ``guidance.register_runs(runs.app)`` and ``app.add_typer(guidance.learnings, name="learnings")``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from plainrun.cli._common import console, services
from plainrun.http.api import render
from plainrun.services.access import SYSTEM

learnings = typer.Typer(help="Remembered answers: list, delete.", no_args_is_help=True)


def answer(
    run_id: str,
    value: Annotated[str | None, typer.Option("--value", help="Answer with this value")] = None,
    retry: Annotated[bool, typer.Option("--retry", help="Run the step again")] = False,
    skip: Annotated[bool, typer.Option("--skip", help="Go on after the step")] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the run (it fails)")] = False,
    remember: Annotated[
        bool, typer.Option("--remember", help="Answer this question on this line so in later runs")
    ] = False,
) -> None:
    """Answer the question a run waits on; it resumes where it stopped."""
    chosen = [
        a for a, on in (("value", value is not None), ("retry", retry), ("skip", skip), ("stop", stop)) if on
    ]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --value, --retry, --skip, --stop")
    with services() as s:
        run = s.guidance.answer(SYSTEM, run_id, action=chosen[0], value=value, remember=remember)
    typer.echo(json.dumps(render.run(run), indent=2))


def register_runs(app: typer.Typer) -> None:
    """Adds ``answer`` to the ``plainrun runs`` group."""
    app.command("answer")(answer)


@learnings.command("list")
def list_cmd(process_id: str) -> None:
    """A process's remembered answers, newest first."""
    with services() as s:
        items = s.guidance.learnings(SYSTEM, process_id=process_id)
    table = Table("id", "line", "question", "action", "value", "created")
    for item in items:
        value = "" if item.value is None else str(item.value)
        table.add_row(item.id, str(item.line), item.question, item.action, value, render.ts(item.created_at))
    console.print(table)


@learnings.command("delete")
def delete(learning_id: str) -> None:
    """Forget a remembered answer."""
    with services() as s:
        s.guidance.forget(SYSTEM, learning_id)
    console.print(f"{learning_id}: deleted")
