"""``plainrun check FILE`` and ``plainrun exec FILE``: the language tools for process authors.

``check`` parses a process and prints every error with its line, column and a caret (exit 1), or
its name and inputs (exit 0). ``exec`` runs it on this machine with a local environment: it prints
the log as it goes, then the outputs. When the run pauses on a question and the terminal is
interactive, it asks it; type a value, or ``:retry``, ``:skip`` or ``:stop``. Without a terminal
the pause ends the command with exit code 1. Child runs (``run to …``) find processes among the
``*.process`` files beside FILE. E-mail goes through ``PLAINRUN_SMTP_HOST``/``_PORT``/``_SENDER``.

Both commands parse their arguments with ``argparse`` (``command_line``), without typer, whose
parameter handling loads pydantic: ``plainrun check`` and ``plainrun exec`` start in a fraction of
a second. ``register`` lists them in the full ``plainrun`` command too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from plainrun.language import (
    Execution,
    Failed,
    Guidance,
    LocalEnvironment,
    Paused,
    ProcessSyntaxError,
    Program,
    SmtpSettings,
    Succeeded,
    Waiting,
    parse,
)

if TYPE_CHECKING:
    import typer

    from plainrun.domain.outbound import OutboundPolicy


def _say(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        _say(f"cannot read {file}: {err}", err=True)
        raise SystemExit(2) from None


def check(file: Path) -> None:
    """Parse FILE and report every error, or its name and inputs."""
    try:
        program = parse(_read(file), filename=str(file))
    except ProcessSyntaxError as err:
        _say(str(err), err=True)
        count = len(err.errors)
        _say(f"{count} error{'s' if count != 1 else ''}", err=True)
        raise SystemExit(1) from None
    _say(f"process: {program.name}")
    _say(f"inputs: {', '.join(program.inputs) if program.inputs else '(none)'}")


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


def _outbound() -> OutboundPolicy:
    from plainrun.domain.outbound import OutboundPolicy
    from plainrun.settings import Settings

    return OutboundPolicy.from_settings(Settings())


def _smtp() -> SmtpSettings:
    """The e-mail book's server from ``PLAINRUN_SMTP_*``, read when a run first sends mail."""
    from plainrun.settings import Settings  # pydantic takes a third of start-up: only when needed

    settings = Settings()
    return SmtpSettings(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender)


def _guidance(paused: Paused) -> Guidance:
    _say(f"line {paused.line}: {paused.question}")
    if paused.choices:
        _say(f"choices: {', '.join(paused.choices)}")
    answer = input("answer (or :retry, :skip, :stop): ")
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
        _say(str(err), err=True)
        raise SystemExit(1) from None
    inputs: dict[str, str] = {}
    for item in input or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _say(f"--input expects name=value, got {item!r}", err=True)
            raise SystemExit(2)
        inputs[name.strip()] = value
    env = LocalEnvironment(
        Path(tempfile.mkdtemp(prefix="plainrun-exec-")),
        smtp=_smtp,
        outbound=_outbound,
        echo=_say,
    )
    env.processes.extend(_siblings(file, program))
    attached = []
    for path in files or []:
        if not path.is_file():
            _say(f"no such file: {path}", err=True)
            raise SystemExit(2)
        attached.append(env.add_path(path))
    on_exception = on_exception or program.on_exception or "pause"
    execution = Execution.start(program, inputs, attached, env, on_exception=on_exception)
    outcome = execution.run()
    while isinstance(outcome, Paused):
        if not sys.stdin.isatty():
            _say(f"exception on line {outcome.line}, column {outcome.column}: {outcome.question}", err=True)
            raise SystemExit(1)
        execution.answer(_guidance(outcome))
        outcome = execution.run()
    if isinstance(outcome, Failed):
        _say(f"failed on line {outcome.line}, column {outcome.column}: {outcome.message}", err=True)
        raise SystemExit(1)
    if isinstance(outcome, Waiting):  # child runs of the local environment end before this returns
        _say(f"the run waits for runs that are not local: {', '.join(outcome.runs)}", err=True)
        raise SystemExit(1)
    assert isinstance(outcome, Succeeded)
    for output in outcome.outputs:
        _say(f"output {output['name']}: {output['value']}")


def command_line(argv: Sequence[str]) -> None:
    """``plainrun check …`` / ``plainrun exec …``: ``argv`` starts with the command's name."""
    parser = argparse.ArgumentParser(prog="plainrun", description="Check and run process files locally.")
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help=check.__doc__, description=check.__doc__)
    checking.add_argument("file", type=Path, help="the process file")
    running = commands.add_parser("exec", help=EXEC_HELP, description=EXEC_HELP)
    running.add_argument("file", type=Path, help="the process file")
    running.add_argument("-i", "--input", action="append", metavar="NAME=VALUE", help=INPUT_HELP)
    running.add_argument("-f", "--file", dest="files", action="append", type=Path, help=FILE_HELP)
    running.add_argument("--on-exception", choices=("pause", "fail"), help=ON_EXCEPTION_HELP)
    args = parser.parse_args(list(argv))
    if args.command == "check":
        check(args.file)
    else:
        exec_(args.file, args.input, args.files, args.on_exception)


EXEC_HELP = "Run a process file locally: print its log, then its outputs."
INPUT_HELP = "an input of the run, name=value (repeat for more)"
FILE_HELP = "a file for the run (repeat for more)"
ON_EXCEPTION_HELP = '"pause" (ask on the terminal) or "fail"; default: what the process says, else pause'


def register(target: typer.Typer) -> None:
    """Lists ``check`` and ``exec`` in the full ``plainrun`` command (which runs them the same).

    typer reads the parameters from the annotations; they are given as objects, since typer is
    imported only here (this module's own annotations are text).
    """
    from typing import Annotated

    import typer

    def check_command(file: Path) -> None:
        """Parse a process file and report every error, or its name and inputs."""
        check(file)

    def exec_command(
        file: Path,
        input: list[str] | None = None,
        file_: list[Path] | None = None,
        on_exception: str | None = None,
    ) -> None:
        """Run a process file locally: print its log, then its outputs."""
        exec_(file, input, file_, on_exception)

    process_file = Annotated[Path, typer.Argument(help="The process file")]
    check_command.__annotations__ = {"file": process_file, "return": None}
    exec_command.__annotations__ = {
        "file": process_file,
        "input": Annotated[list[str] | None, typer.Option("--input", "-i", help=INPUT_HELP)],
        "file_": Annotated[list[Path] | None, typer.Option("--file", "-f", help=FILE_HELP)],
        "on_exception": Annotated[str | None, typer.Option(help=ON_EXCEPTION_HELP)],
        "return": None,
    }
    target.command("check")(check_command)
    target.command("exec")(exec_command)
