"""The ``plainrun`` command: serve, worker, migrate, keys, agents, processes, runs, test, check, exec."""

from __future__ import annotations

import typer

from plainrun.cli import (
    admin,
    files,
    guidance,
    lang,
    mail,
    processes,
    runs,
    schedules,
    serve,
    testsuite,
    users,
    worker,
)

app = typer.Typer(
    name="plainrun",
    help="Run business processes written in plain English.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
serve.register(app)
worker.register(app)
admin.register(app)
lang.register(app)
schedules.register(app)
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


def main() -> None:
    app()
