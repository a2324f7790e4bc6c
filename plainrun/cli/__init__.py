"""The ``plainrun`` command: serve, worker, migrate, keys, agents, processes, runs, test, check, exec.

The everyday commands (processes, runs, files, schedules, test cases, test, learnings) work on a
``Backend`` (``cli/backend.py``): the database's services, or a remote service through
``plainrun.client`` when ``--url``, ``PLAINRUN_URL`` or ``plainrun login`` names one (``cli/remote.py``).
The administration commands (migrate, keys, users, agents, serve, worker, scheduler, smtp, files
migrate) work on the database.

``plainrun check`` and ``plainrun exec`` load only the language (a process author's commands start
in a fraction of a second); every other command loads the whole command line, built on first use
of ``app``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

LANGUAGE_COMMANDS = ("check", "exec")


def _build() -> typer.Typer:
    import typer

    from plainrun.cli import (
        admin,
        files,
        guidance,
        lang,
        mail,
        processes,
        remote,
        runs,
        schedules,
        serve,
        testsuite,
        users,
        webhooks,
        worker,
    )

    app = typer.Typer(
        name="plainrun",
        help="Run business processes written in plain English.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    remote.register(app)
    serve.register(app)
    worker.register(app)
    admin.register(app)
    lang.register(app)
    schedules.register(app)
    webhooks.register(app)
    app.add_typer(admin.keys, name="keys")
    app.add_typer(admin.agents, name="agents")
    mail.register(app, processes.app)
    app.add_typer(processes.app, name="processes")
    guidance.register_runs(runs.app)
    testsuite.register(app, runs.app)
    app.add_typer(runs.app, name="runs")
    app.add_typer(guidance.learnings, name="learnings")
    app.add_typer(users.app, name="users")
    app.add_typer(files.app, name="files")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        app = globals()["app"] = _build()
        return app
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:2] and sys.argv[1] in LANGUAGE_COMMANDS:
        from plainrun.cli import lang

        lang.command_line(sys.argv[1:])
        return
    _build()()
