"""``plainrun check FILE`` and ``plainrun exec FILE``: the language tools for process authors.

``check`` parses a process and prints every error with its line, column and a caret (exit 1), or
its name and inputs (exit 0). ``exec`` runs it on this machine with a local environment: it prints
the log as it goes, then the outputs. When the run pauses on a question and the terminal is
interactive, it asks it; type a value, or ``:retry``, ``:skip`` or ``:stop``. Without a terminal
the pause ends the command with exit code 1. Child runs (``run to …``) find processes among the
``*.process`` files beside FILE. E-mail goes through ``PLAINRUN_SMTP_HOST``/``_PORT``/``_SENDER``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from plainrun.domain.outbound import OutboundPolicy
from plainrun.language import (
    Execution,
    Failed,
    Guidance,
    LocalEnvironment,
    Paused,
    ProcessSyntaxError,
    Program,
    SmtpSettings,
    Waiting,
    parse,
)
from plainrun.settings import Settings

app = typer.Typer(help="Check and run process files locally.", no_args_is_help=True, add_completion=False)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        typer.echo(f"cannot read {file}: {err}", err=True)
        raise typer.Exit(2) from None


def check(file: Path) -> None:
    """Parse FILE and report every error, or its name and inputs."""
    try:
        program = parse(_read(file), filename=str(file))
    except ProcessSyntaxError as err:
        typer.echo(str(err), err=True)
        count = len(err.errors)
        typer.echo(f"{count} error{'s' if count != 1 else ''}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"process: {program.name}")
    typer.echo(f"inputs: {', '.join(program.inputs) if program.inputs else '(none)'}")


def _siblings(file: Path, program: Program) -> list[Program]:
    programs = [program]
    for path in sorted(file.resolve().parent.glob("*.process")):
        if path.resolve() == file.resolve():
            continue
        try:
            programs.append(parse(path.read_text(encoding="utf-8"), filename=str(path)))
        except (ProcessSyntaxError, OSError, UnicodeDecodeError):
            continue
    return programs


def _smtp() -> SmtpSettings:
    settings = Settings()
    return SmtpSettings(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender)


def _guidance(paused: Paused) -> Guidance:
    typer.echo(f"line {paused.line}: {paused.question}")
    if paused.choices:
        typer.echo(f"choices: {', '.join(paused.choices)}")
    answer = typer.prompt("answer (or :retry, :skip, :stop)")
    if answer.strip() in (":retry", ":skip", ":stop"):
        return Guidance(answer.strip()[1:])
    return Guidance("value", answer)


def exec_(
    file: Path,
    input: list[str] | None = None,
    files: list[Path] | None = None,
    on_exception: str | None = None,
) -> None:
    """Run FILE locally with ``--input name=value`` and ``--file path``; print the log and outputs."""
    try:
        program = parse(_read(file), filename=str(file))
    except ProcessSyntaxError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from None
    inputs: dict[str, str] = {}
    for item in input or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            typer.echo(f"--input expects name=value, got {item!r}", err=True)
            raise typer.Exit(2)
        inputs[name.strip()] = value
    env = LocalEnvironment(
        Path(tempfile.mkdtemp(prefix="plainrun-exec-")),
        smtp=_smtp(),
        outbound=OutboundPolicy.from_settings(Settings()),
        echo=typer.echo,
    )
    env.processes.extend(_siblings(file, program))
    attached = []
    for path in files or []:
        if not path.is_file():
            typer.echo(f"no such file: {path}", err=True)
            raise typer.Exit(2)
        attached.append(env.add_path(path))
    on_exception = on_exception or program.on_exception or "pause"
    execution = Execution.start(program, inputs, attached, env, on_exception=on_exception)
    outcome = execution.run()
    while isinstance(outcome, Paused):
        if not sys.stdin.isatty():
            typer.echo(
                f"exception on line {outcome.line}, column {outcome.column}: {outcome.question}", err=True
            )
            raise typer.Exit(1)
        execution.answer(_guidance(outcome))
        outcome = execution.run()
    if isinstance(outcome, Failed):
        typer.echo(f"failed on line {outcome.line}, column {outcome.column}: {outcome.message}", err=True)
        raise typer.Exit(1)
    if isinstance(outcome, Waiting):  # child runs of the local environment end before this returns
        typer.echo(f"the run waits for runs that are not local: {', '.join(outcome.runs)}", err=True)
        raise typer.Exit(1)
    for output in outcome.outputs:
        typer.echo(f"output {output['name']}: {output['value']}")


def register(target: typer.Typer) -> None:
    """Adds ``check`` and ``exec`` to the ``plainrun`` command."""

    @target.command("check")
    def check_command(file: Annotated[Path, typer.Argument(help="The process file")]) -> None:
        """Parse a process file and report every error, or its name and inputs."""
        check(file)

    @target.command("exec")
    def exec_command(
        file: Annotated[Path, typer.Argument(help="The process file")],
        input: Annotated[list[str] | None, typer.Option("--input", "-i", help="An input: name=value")] = None,
        file_: Annotated[list[Path] | None, typer.Option("--file", "-f", help="A file for the run")] = None,
        on_exception: Annotated[
            str | None,
            typer.Option(
                help='"pause" (ask on the terminal) or "fail"; default: what the process says, else pause'
            ),
        ] = None,
    ) -> None:
        """Run a process file locally: print its log, then its outputs."""
        exec_(file, input, file_, on_exception)


register(app)
