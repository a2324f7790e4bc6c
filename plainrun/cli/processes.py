"""``plainrun processes …``: push a process file as a draft, publish, list, show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from plainrun.cli._common import console, services
from plainrun.http.api.render import ts
from plainrun.services.access import SYSTEM

app = typer.Typer(help="Processes: push drafts, publish versions, list.", no_args_is_help=True)


@app.command("push")
def push(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    agent: Annotated[str, typer.Option(help="The agent id that owns the process")],
    process_id: Annotated[str | None, typer.Option("--id", help="Update this process's draft")] = None,
    publish: Annotated[bool, typer.Option(help="Publish the draft after pushing it")] = False,
) -> None:
    """Push a process file as the draft of a new (or, with --id, an existing) process."""
    source = file.read_text(encoding="utf-8")
    with services() as s:
        if process_id:
            process = s.processes.get(SYSTEM, process_id, agent)
            process = s.processes.update_draft(SYSTEM, process.id, source=source)
        else:
            process = s.processes.create(SYSTEM, agent_id=agent, source=source)
        console.print(f"draft revision {process.draft_revision} of {process.name!r}", highlight=False)
        if publish:
            version = s.processes.publish(SYSTEM, process.id)
            same = "" if version.created else " (the draft is unchanged: no new version)"
            console.print(f"published version {version.version}{same}")
    typer.echo(process.id)


@app.command("publish")
def publish_cmd(process_id: str) -> None:
    """Publish the draft as the next version."""
    with services() as s:
        version = s.processes.publish(SYSTEM, process_id)
    same = "" if version.created else " (the draft is unchanged: no new version)"
    console.print(f"published version {version.version}{same}")


@app.command("limit")
def limit_cmd(
    process_id: str,
    runs: Annotated[
        int | None, typer.Argument(min=1, max=100_000, help="Runs Running at once; omit for no limit")
    ] = None,
) -> None:
    """Set (or, with no number, remove) how many of a process's runs may be Running at once."""
    with services() as s:
        process = s.processes.update_draft(SYSTEM, process_id, settings={"max_concurrency": runs})
    limit = process.max_concurrent_runs
    said = f"at most {limit} runs at once" if limit else "no limit"
    console.print(f"{process.name!r}: {said}", highlight=False)


@app.command("list")
def list_cmd(agent: Annotated[str, typer.Option(help="The agent id")]) -> None:
    with services() as s:
        rows = s.processes.page(SYSTEM, agent).items
    table = Table("id", "name", "draft", "published", "updated")
    for p in rows:
        table.add_row(p.id, p.name, str(p.draft_revision), str(p.published_version or "-"), ts(p.updated_at))
    console.print(table)


@app.command("show")
def show(process_id: str) -> None:
    """Print a process's draft source, its inputs and versions."""
    with services() as s:
        draft = s.processes.draft(SYSTEM, process_id)
        versions = s.processes.versions(SYSTEM, process_id)
    process, source = draft.process, draft.source
    console.print(f"[bold]{process.name}[/bold] ({process.id}), agent {process.agent_id}", highlight=False)
    console.print(f"inputs: {', '.join(draft.inputs) or '-'}", highlight=False)
    console.print(f"versions: {', '.join(str(v.version) for v in versions) or '-'}")
    console.print(source, markup=False, highlight=False)
