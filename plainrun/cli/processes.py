"""``plainrun processes …``: push a process file as a draft, publish, limit, list, show.
Each works on the database or, when one is configured, on a remote service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plainrun.cli._common import console
from plainrun.cli.backend import backend
from plainrun.cli.output import JsonOption, QuietOption, listing, print_ids, print_json, print_table
from plainrun.client.models import ProcessVersion

app = typer.Typer(help="Processes: push drafts, publish versions, list.", no_args_is_help=True)


@app.command("push")
def push(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    agent: Annotated[str, typer.Option(help="The agent id that owns the process")],
    process_id: Annotated[str | None, typer.Option("--id", help="Update this process's draft")] = None,
    publish: Annotated[bool, typer.Option(help="Publish the draft after pushing it")] = False,
    as_json: JsonOption = False,
) -> None:
    """Push a process file as the draft of a new (or, with --id, an existing) process; prints its id."""
    source = file.read_text(encoding="utf-8")
    with backend() as b:
        if process_id:
            if b.get_process(process_id).agent_id != agent:
                raise typer.BadParameter("is a process of another agent", param_hint="--id")
            process = b.update_process(process_id, source=source)
        else:
            process = b.create_process(agent, source)
        if not as_json:
            console.print(f"draft revision {process.draft_revision} of {process.name!r}", highlight=False)
        if publish:
            version = b.publish_process(process.id)
            if not as_json:
                console.print(f"published version {version.version}{_unchanged(version)}")
            process = b.get_process(process.id)
    if as_json:
        print_json(process)
    else:
        typer.echo(process.id)


@app.command("publish")
def publish_cmd(process_id: str, as_json: JsonOption = False) -> None:
    """Publish the draft as the next version."""
    with backend() as b:
        version = b.publish_process(process_id)
    if as_json:
        print_json(version)
    else:
        console.print(f"published version {version.version}{_unchanged(version)}")


def _unchanged(version: ProcessVersion) -> str:
    return " (the draft is unchanged: no new version)" if version.created is False else ""


@app.command("limit")
def limit_cmd(
    process_id: str,
    runs: Annotated[
        int | None, typer.Argument(min=1, max=100_000, help="Runs Running at once; omit for no limit")
    ] = None,
) -> None:
    """Set (or, with no number, remove) how many of a process's runs may be Running at once."""
    with backend() as b:
        process = b.update_process(process_id, settings={"max_concurrency": runs})
    limit = process.settings.get("max_concurrency")
    said = f"at most {limit} runs at once" if limit else "no limit"
    console.print(f"{process.name!r}: {said}", highlight=False)


@app.command("list")
def list_cmd(
    agent: Annotated[str, typer.Option(help="The agent id")],
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """An agent's processes, newest first."""
    with backend() as b:
        found = list(b.list_processes(agent))
    if as_json:
        print_json(listing(found))
    elif quiet:
        print_ids(p.id for p in found)
    else:
        rows = [
            [
                p.id,
                p.name,
                p.draft_revision,
                p.published_version or "-",
                p.updated_at.strftime("%Y-%m-%d %H:%M"),
            ]
            for p in found
        ]
        print_table(["id", "name", "draft", "published", "updated"], rows)


@app.command("show")
def show(process_id: str, as_json: JsonOption = False) -> None:
    """A process's draft source, its inputs and versions (--json: the API's process)."""
    with backend() as b:
        process = b.get_process(process_id)
        versions = [] if as_json else b.process_versions(process_id)
    if as_json:
        print_json(process)
        return
    console.print(f"[bold]{process.name}[/bold] ({process.id}), agent {process.agent_id}", highlight=False)
    console.print(f"inputs: {', '.join(process.inputs or []) or '-'}", highlight=False, markup=False)
    console.print(f"versions: {', '.join(str(v.version) for v in versions) or '-'}")
    console.print(process.source or "", markup=False, highlight=False)
