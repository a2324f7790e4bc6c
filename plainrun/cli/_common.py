"""What every command shares: settings, services or a backend, exit codes, error rendering.

Exit codes (the README lists them for scripts): 0 success; 1 the run failed, was cancelled or timed
out, a test case did not pass, or the request was refused for another reason; 2 bad input; 3 the
run waits for guidance; 4 not found; 5 the service (or its database) cannot be reached; 6 the run
had not ended when ``--timeout`` passed; 130 stopped with Ctrl-C (the run goes on).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from plainrun.client import errors as client_errors
from plainrun.errors import InvalidInput, NotFound, PlainrunError, StoreUnavailable, TooLarge
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

console = Console()
err_console = Console(stderr=True)


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    WAITING_FOR_GUIDANCE = 3
    NOT_FOUND = 4
    UNREACHABLE = 5
    STILL_RUNNING = 6
    INTERRUPTED = 130


def exit_code(exc: PlainrunError | client_errors.ClientError) -> ExitCode:
    if isinstance(exc, NotFound | client_errors.NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, InvalidInput | TooLarge | client_errors.BadRequest):
        return ExitCode.BAD_INPUT
    if isinstance(exc, StoreUnavailable | client_errors.ServiceUnreachable):
        return ExitCode.UNREACHABLE
    return ExitCode.FAILED


@contextlib.contextmanager
def services() -> Iterator[Services]:
    """Services over the configured database, migrated to the newest schema; errors exit non-zero."""
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


def fail(exc: PlainrunError | client_errors.ClientError) -> NoReturn:
    """Print the error and its details; exit with the error's code."""
    err_console.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False)
    if isinstance(exc, PlainrunError):
        details = list(exc.details)
    elif isinstance(exc, client_errors.ApiError):
        details = [(d.name, d.value) for d in exc.error.details or []]
    else:
        details = []
    for name, value in details:
        err_console.print(f"  {name}: {value}", highlight=False, markup=False)
    raise typer.Exit(exit_code(exc)) from exc
