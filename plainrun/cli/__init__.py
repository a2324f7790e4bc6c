"""The ``plainrun`` command: serve, worker, migrate, keys, agents, processes, runs, check, exec."""

from __future__ import annotations

import typer

from plainrun.cli import admin, processes, runs, serve, worker

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
app.add_typer(admin.keys, name="keys")
app.add_typer(admin.agents, name="agents")
app.add_typer(processes.app, name="processes")
app.add_typer(runs.app, name="runs")

try:  # the language tools live beside the interpreter
    from plainrun.cli import lang
except ImportError:  # pragma: no cover - present in every install
    lang = None  # type: ignore[assignment]
else:
    lang.register(app)


def main() -> None:
    app()
