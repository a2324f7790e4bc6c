"""Following a run: its state changes and log lines as they come, then how it ended, as an exit code.

Used by ``plainrun runs watch ID`` and ``plainrun runs start --wait``. The timeline is read from
``/v2/runs/{id}/events`` (or the store); Ctrl-C stops the watching, never the run.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from plainrun.cli._common import ExitCode, console, err_console
from plainrun.cli.output import print_json
from plainrun.client.models import Run, RunEvent
from plainrun.domain.runs import RunState

if TYPE_CHECKING:
    from plainrun.cli.backend import Backend

POLL_S = 0.3


def event_line(event: RunEvent) -> str:
    """One line of a run's timeline: a log line's text, or a state change and why."""
    at = event.at.strftime("%H:%M:%S")
    data = event.data or {}
    if event.kind == "log":
        return f"{at}  {data.get('text', '')}"
    brief = ", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list))
    if event.to_state is not None:
        start = f"{event.from_state.value} → " if event.from_state else ""
        why = "" if event.kind == "state" else f" ({event.kind}{': ' + brief if brief else ''})"
        return f"{at}  [{start}{event.to_state.value}]{why}"
    return f"{at}  {event.kind}{' (' + brief + ')' if brief else ''}"


def follow(backend: Backend, run_id: str, *, timeout: float, out: Console) -> Run | None:
    """Print the run's new events until it ended or waits for a person; the run, or None if it
    had not settled when ``timeout`` passed."""
    seen: set[int | str] = set()
    deadline = time.monotonic() + timeout

    def show() -> None:
        for event in backend.run_events(run_id):
            if event.id not in seen:
                seen.add(event.id)
                out.print(event_line(event), highlight=False, markup=False)

    while True:
        show()
        run = backend.get_run(run_id)
        if run.settled:
            show()
            return run
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_S)


def watch_and_exit(backend: Backend, run_id: str, *, timeout: float, as_json: bool) -> None:
    """Follow the run (to stderr with ``--json``, which prints the run at the end), then exit with
    the code of how it stands."""
    out = err_console if as_json else console
    try:
        run = follow(backend, run_id, timeout=timeout, out=out)
    except KeyboardInterrupt:
        err_console.print(f"stopped watching; run {run_id} goes on", highlight=False, markup=False)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    if run is None:
        err_console.print(f"run {run_id} has not ended after {timeout:g} s", highlight=False, markup=False)
        if as_json:
            print_json(backend.get_run(run_id))
        raise typer.Exit(ExitCode.STILL_RUNNING)
    if as_json:
        print_json(run)
    else:
        report(run, out)
    raise typer.Exit(code_of(run))


def code_of(run: Run) -> ExitCode:
    if run.waiting_for_guidance:
        return ExitCode.WAITING_FOR_GUIDANCE
    if run.state is RunState.SUCCEEDED:
        return ExitCode.OK
    return ExitCode.FAILED


def report(run: Run, out: Console) -> None:
    """How the run stands, for a person: its outputs, its error, or the question it asks."""
    error = run.error or {}
    out.print(
        f"run {run.id}: {run.state.value if run.state else run.status.value}", highlight=False, markup=False
    )
    if run.waiting_for_guidance:
        where = f" (line {error['line']})" if error.get("line") else ""
        out.print(
            f"question{where}: {error.get('question') or error.get('message')}", highlight=False, markup=False
        )
        if error.get("choices"):
            out.print(
                f"choices: {', '.join(str(c) for c in error['choices'])}", highlight=False, markup=False
            )
        out.print(
            f"answer: plainrun runs answer {run.id} --value V | --retry | --skip | --stop",
            highlight=False,
            markup=False,
        )
        return
    for output in run.outputs or []:
        out.print(f"  {output.name} = {output.value}", highlight=False, markup=False)
    if error.get("message") and run.state is not RunState.SUCCEEDED:
        where = f" at line {error['line']}" if error.get("line") else ""
        out.print(f"error{where}: {error['message']}", highlight=False, markup=False)
