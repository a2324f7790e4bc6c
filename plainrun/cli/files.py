"""``plainrun files migrate``: move file contents from one storage to another."""

from __future__ import annotations

from typing import Annotated

import typer

from plainrun.cli._common import console, services
from plainrun.services.container import blob_place
from plainrun.store.blobs import open_blobs

app = typer.Typer(help="File contents: move them between storages.", no_args_is_help=True)


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
        moved = s.files.move_contents(frm, into, delete=delete)
    console.print(
        f"{len(moved.copied)} copied, {len(moved.present)} there already, {len(moved.missing)} missing "
        f"from {frm.kind}",
        highlight=False,
    )
    for file_id in moved.missing:
        console.print(f"  missing: {file_id}", highlight=False)
