"""``plainrun files …``: upload and get (on the database or a remote service), and ``migrate``
(move file contents between storages; on the database only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plainrun.cli._common import console, services
from plainrun.cli.backend import backend
from plainrun.cli.output import JsonOption, print_json, print_table, progress
from plainrun.client.models import File
from plainrun.services.container import blob_place
from plainrun.store.blobs import open_blobs

app = typer.Typer(help="Files: upload, get; move contents between storages.", no_args_is_help=True)


def _show(file: File, as_json: bool) -> None:
    if as_json:
        print_json(file)
        return
    print_table(
        ["id", "name", "content type", "size", "sha256"],
        [[file.id, file.name or file.file_name, file.content_type, file.size, file.sha256]],
    )


@app.command("upload")
def upload(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    agent: Annotated[
        str | None, typer.Option(help="The agent the file belongs to (an agent's key: its own)")
    ] = None,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the file's id")] = False,
) -> None:
    """Upload a file; give its id to ``runs start`` … (or use ``runs start -f PATH``)."""
    with backend() as b:
        file = b.upload_file(path, agent_id=agent)
    if quiet:
        typer.echo(file.id)
    else:
        _show(file, as_json)


@app.command("get")
def get(file_id: str, as_json: JsonOption = False) -> None:
    """A file's name, type, size and hash."""
    with backend() as b:
        file = b.get_file(file_id)
    _show(file, as_json)


@app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="The storage to copy into: local, database or s3")],
    source: Annotated[
        str | None, typer.Option("--from", help="The storage to copy from (default: PLAINRUN_FILE_STORAGE)")
    ] = None,
    delete: Annotated[
        bool, typer.Option(help="Remove each file's contents from the source once copied")
    ] = False,
) -> None:
    """Copy every file's contents into another storage, each checked against its hash; run it
    again to finish an interrupted move. Then set PLAINRUN_FILE_STORAGE on every host."""
    for name, value in (("--to", to), ("--from", source)):
        if value is not None and value not in ("local", "database", "s3"):
            raise typer.BadParameter("is local, database or s3", param_hint=name)
    with services() as s:
        frm = open_blobs(blob_place(s.settings, source), s.store)  # type: ignore[arg-type]
        into = open_blobs(blob_place(s.settings, to), s.store)  # type: ignore[arg-type]
        if frm.kind == into.kind:
            raise typer.BadParameter("is the storage the contents are in already", param_hint="--to")
        with progress(f"files {frm.kind} → {into.kind}", None) as advance:
            moved = s.files.move_contents(frm, into, delete=delete, progress=lambda fid: advance(1, fid))
    console.print(
        f"{len(moved.copied)} copied, {len(moved.present)} there already, {len(moved.missing)} missing "
        f"from {frm.kind}",
        highlight=False,
    )
    for file_id in moved.missing:
        console.print(f"  missing: {file_id}", highlight=False)
