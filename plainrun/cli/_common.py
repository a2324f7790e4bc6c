"""What every command shares: settings, services, error rendering."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer
from rich.console import Console

from plainrun.errors import PlainrunError
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

console = Console()
err_console = Console(stderr=True)


@contextlib.contextmanager
def services() -> Iterator[Services]:
    """Services over the configured database, migrated to the newest schema; errors exit 1."""
    built = None
    try:
        built = build_services(Settings(), migrate=True)
        yield built
    except PlainrunError as exc:
        fail(exc)
    finally:
        if built is not None:
            built.close()


def start_services(settings: Settings) -> Services:
    """The services a long-running command (serve, worker) starts with; a refusal exits 1."""
    try:
        return build_services(settings, migrate=True)
    except PlainrunError as exc:
        fail(exc)


def fail(exc: PlainrunError) -> NoReturn:
    """Print the error and its details; exit 1."""
    err_console.print(f"[red]error:[/red] {exc.message}")
    for name, value in exc.details:
        err_console.print(f"  {name}: {value}")
    raise typer.Exit(1) from exc
