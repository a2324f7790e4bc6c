"""``plainrun runs answer …`` (guidance for a waiting run) and ``plainrun learnings …`` (remembered answers).

Mount with ``guidance.register_runs(runs.app)`` and ``app.add_typer(guidance.learnings, name="learnings")``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from plainrun.cli._common import console
from plainrun.cli.backend import backend
from plainrun.cli.output import JsonOption, QuietOption, listing, print_ids, print_json, print_table
from plainrun.cli.watch import report

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
    as_json: JsonOption = False,
) -> None:
    """Answer the question a run waits on; it resumes where it stopped."""
    given: dict[Literal["value", "retry", "skip", "stop"], bool] = {
        "value": value is not None,
        "retry": retry,
        "skip": skip,
        "stop": stop,
    }
    chosen = [action for action, on in given.items() if on]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --value, --retry, --skip, --stop")
    with backend() as b:
        run = b.answer_run(run_id, chosen[0], value, remember=remember)
    if as_json:
        print_json(run)
    else:
        report(run, console)


def register_runs(app: typer.Typer) -> None:
    """Adds ``answer`` to the ``plainrun runs`` group."""
    app.command("answer")(answer)


@learnings.command("list")
def list_cmd(process_id: str, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """A process's remembered answers, newest first."""
    with backend() as b:
        items = b.list_learnings(process_id)
    if as_json:
        print_json(listing(items))
    elif quiet:
        print_ids(i.id for i in items)
    else:
        rows = [
            [i.id, i.line, i.question, i.action, i.value, i.created_at.strftime("%Y-%m-%d %H:%M")]
            for i in items
        ]
        print_table(["id", "line", "question", "action", "value", "created"], rows)


@learnings.command("delete")
def delete(learning_id: str) -> None:
    """Forget a remembered answer."""
    with backend() as b:
        b.delete_learning(learning_id)
    console.print(f"{learning_id}: deleted", highlight=False)
