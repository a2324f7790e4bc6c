"""``plainrun runs …``: start (with inputs and files, optionally waiting), watch, get, events, list,
cancel. Each works on the database or, when one is configured, on a remote service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plainrun.cli._common import console
from plainrun.cli.backend import LocalBackend, StageName, backend
from plainrun.cli.output import JsonOption, QuietOption, listing, print_ids, print_json, print_table
from plainrun.cli.watch import event_line, report, watch_and_exit
from plainrun.client import calls
from plainrun.client.models import Run
from plainrun.domain.bounds import name_problem
from plainrun.domain.runs import RunState, Stage

app = typer.Typer(help="Runs: start, watch, get, list, cancel.", no_args_is_help=True)


def parse_inputs(pairs: list[str]) -> dict[str, str | int | float]:
    out: dict[str, str | int | float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not name=value", param_hint="--input")
        out[name.strip()] = value
    return out


def state_of(run: Run) -> str:
    return run.state.value if run.state else run.status.value


@app.command("start")
def start(
    process_id: str,
    stage: Annotated[Stage, typer.Option(help="Run the Draft or the Published version")] = Stage.PUBLISHED,
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="name=value (repeatable)")] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", exists=True, dir_okay=False, help="a file (repeatable)"),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name for the run")] = None,
    wait: Annotated[
        bool, typer.Option(help="Show its state changes and log lines until it ends or asks a question")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait")] = 600.0,
    fail_fast: Annotated[
        bool,
        typer.Option(help="Fail at the first exception instead of waiting for guidance (database only)"),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Start a run of a process; prints its id (or, with --json, the run). With --wait, exits with
    the run's code: 0 succeeded, 1 failed, 3 waits for guidance, 6 still running at --timeout."""
    if name is not None and (why := name_problem(name)) is not None:
        raise typer.BadParameter(why, param_hint="--name")
    inputs = parse_inputs(input or [])
    with backend() as b:
        if fail_fast and not isinstance(b, LocalBackend):
            raise typer.BadParameter("works on the database only: the API has no such option")
        process = b.get_process(process_id)
        file_ids = [b.upload_file(path, agent_id=process.agent_id).id for path in file or []]
        run_name = name or f"{process.name} (manual)"[:100]
        where: StageName = "Draft" if stage is Stage.DRAFT else "Published"
        call = calls.StartRun(
            process.id, process.agent_id, name=run_name, stage=where, inputs=inputs, file_ids=file_ids
        )
        run = b.start_failing_fast(call) if isinstance(b, LocalBackend) and fail_fast else b.drive(call)
        if wait:
            if not as_json:
                console.print(f"run {run.id} started", highlight=False)
            watch_and_exit(b, run.id, timeout=timeout, as_json=as_json)
    if as_json:
        print_json(run)
    else:
        typer.echo(run.id)


@app.command("watch")
def watch(
    run_id: str,
    timeout: Annotated[float, typer.Option(help="Seconds to watch at most")] = 3600.0,
    as_json: JsonOption = False,
) -> None:
    """Show a run's state changes and log lines as they come, until it ends or asks a question;
    exit with its code. Ctrl-C stops the watching, not the run."""
    with backend() as b:
        watch_and_exit(b, run_id, timeout=timeout, as_json=as_json)


@app.command("get")
def get(run_id: str, as_json: JsonOption = False) -> None:
    """A run: its state, inputs, outputs, error or question (--json: the API's run)."""
    with backend() as b:
        run = b.get_run(run_id)
    if as_json:
        print_json(run)
        return
    print_table(
        ["id", "name", "process", "stage", "version", "trigger", "created"],
        [[run.id, run.name, run.process_id, run.stage.value, run.version, run.trigger, run.created_at]],
    )
    if run.inputs:
        console.print(f"inputs: {run.inputs}", highlight=False, markup=False)
    report(run, console)


@app.command("events")
def events(run_id: str, as_json: JsonOption = False) -> None:
    """A run's timeline: every state change and log line, oldest first."""
    with backend() as b:
        found = b.run_events(run_id)
    if as_json:
        print_json(listing(found))
        return
    for event in found:
        console.print(event_line(event), highlight=False, markup=False)


@app.command("list")
def list_cmd(
    process_id: str,
    limit: Annotated[int, typer.Option(min=1, help="At most this many (newest first)")] = 20,
    archived: Annotated[bool, typer.Option(help="List archived runs only")] = False,
    state: Annotated[list[RunState] | None, typer.Option(help="Only runs in this state (repeatable)")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The newest runs of a process."""
    with backend() as b:
        process = b.get_process(process_id)
        found: list[Run] = []
        for run in b.list_runs(process.id, process.agent_id, archived=archived, states=state or ()):
            found.append(run)
            if len(found) >= limit:
                break
    if as_json:
        print_json(listing(found))
    elif quiet:
        print_ids(r.id for r in found)
    else:
        rows = [
            [
                r.id,
                r.name,
                r.stage.value,
                state_of(r),
                r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                ", ".join(f"{o.name}={o.value}" for o in r.outputs or []),
            ]
            for r in found
        ]
        print_table(["id", "name", "stage", "state", "created", "outputs"], rows)


@app.command("cancel")
def cancel(run_id: str, as_json: JsonOption = False) -> None:
    """Cancel a pending, running or waiting run (a running one stops at its worker's next look)."""
    with backend() as b:
        run = b.cancel_run(run_id)
    if as_json:
        print_json(run)
    else:
        said = "cancel requested" if run.state is RunState.RUNNING else state_of(run)
        console.print(f"{run.id}: {said}", highlight=False)
