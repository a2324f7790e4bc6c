"""``plainrun runs …``: start (with inputs and files, optionally waiting), get, list, cancel."""

from __future__ import annotations

import json
import mimetypes
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from plainrun.cli._common import console, err_console, services
from plainrun.domain.bounds import name_problem
from plainrun.domain.runs import Stage, Trigger
from plainrun.http.api import render
from plainrun.services.access import SYSTEM
from plainrun.services.runs import RunFilter, RunRequest

app = typer.Typer(help="Runs: start, get, list, cancel.", no_args_is_help=True)


def parse_inputs(pairs: list[str]) -> dict[str, str | int | float]:
    out: dict[str, str | int | float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not name=value", param_hint="--input")
        out[name.strip()] = value
    return out


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
    wait: Annotated[bool, typer.Option(help="Wait until the run ends and print it")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait")] = 600.0,
    fail_fast: Annotated[
        bool, typer.Option(help="Fail at the first exception instead of waiting for guidance")
    ] = False,
) -> None:
    """Start a run of a process (a manual run)."""
    if name is not None and (why := name_problem(name)) is not None:
        raise typer.BadParameter(why, param_hint="--name")
    inputs = parse_inputs(input or [])
    with services() as s:
        process = s.processes.get(SYSTEM, process_id)
        file_ids = []
        for path in file or []:
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            record = s.files.put(
                SYSTEM,
                agent_id=process.agent_id,
                name=path.name,
                content_type=content_type,
                data=path.read_bytes(),
            )
            file_ids.append(record.id)
        request = RunRequest(
            agent_id=process.agent_id,
            process_id=process.id,
            stage=stage,
            name=name or f"{process.name} (manual)"[:100],
            inputs=inputs,
            file_ids=file_ids,
            trigger=Trigger.MANUAL,
            on_exception="fail" if fail_fast else None,
        )
        run = s.runs.start(SYSTEM, request)
        if wait:
            deadline = time.monotonic() + timeout
            with err_console.status(f"run {run.id}: {run.state.value}") as status:
                while not run.state.is_final and time.monotonic() < deadline:
                    time.sleep(0.1)
                    run = s.runs.get(SYSTEM, run.id)
                    status.update(f"run {run.id}: {run.state.value}")
    if wait:
        typer.echo(json.dumps(render.run(run), indent=2))
        if not run.state.is_final:
            raise typer.Exit(2)
    else:
        typer.echo(run.id)


@app.command("get")
def get(run_id: str) -> None:
    """Print a run as JSON, with its timeline."""
    with services() as s:
        run = s.runs.get(SYSTEM, run_id)
        events = s.runs.events(SYSTEM, run_id)
    typer.echo(json.dumps({**render.run(run), "events": [render.event(e) for e in events]}, indent=2))


@app.command("list")
def list_cmd(
    process_id: str,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    archived: Annotated[bool, typer.Option(help="List archived runs only")] = False,
) -> None:
    """The newest runs of a process."""
    with services() as s:
        process = s.processes.get(SYSTEM, process_id)
        page = s.runs.page(
            SYSTEM,
            agent_id=process.agent_id,
            process_id=process_id,
            where=RunFilter(archived=archived),
            limit=limit,
        )
    table = Table("id", "name", "stage", "state", "created", "outputs")
    for r in page.items:
        outputs = ", ".join(f"{o['name']}={o['value']}" for o in r.outputs or [])
        table.add_row(r.id, r.name, r.stage.value, r.state.value, render.ts(r.created_at), outputs)
    console.print(table)


@app.command("cancel")
def cancel(run_id: str) -> None:
    with services() as s:
        run = s.runs.cancel(SYSTEM, run_id)
    console.print(f"{run.id}: {'cancel requested' if run.state.value == 'Running' else run.state.value}")
