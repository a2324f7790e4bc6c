"""``plainrun check`` and ``plainrun exec`` through the real command line parser."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plainrun.cli.lang import app

runner = CliRunner()


def test_check_prints_the_name_and_inputs_of_a_valid_process(tmp_path: Path) -> None:
    file = tmp_path / "ok.process"
    file.write_text('to greet a customer\n  say "hello {the customer\'s name}"\n  say the mood\n')
    result = runner.invoke(app, ["check", str(file)])
    assert result.exit_code == 0, result.output
    assert result.output == "process: greet a customer\ninputs: customer, mood\n"


def test_check_reports_every_error_with_a_caret_and_exits_1(tmp_path: Path) -> None:
    file = tmp_path / "bad.process"
    file.write_text("to go\n  the total is\n  frobnicate the total\n")
    result = runner.invoke(app, ["check", str(file)])
    assert result.exit_code == 1
    assert (
        f'{file}:2:15: expected a value after "is"\n      the total is\n                  ^' in result.output
    )
    assert f'{file}:3:3: no procedure matches "frobnicate the total"' in result.output
    assert result.output.rstrip().endswith("2 errors")


def test_exec_prints_the_log_then_the_outputs(tmp_path: Path) -> None:
    file = tmp_path / "sum.process"
    file.write_text('to add up\n  say "adding"\n  the output total is the a + the b\n')
    data = tmp_path / "note.txt"
    data.write_text("hi")
    result = runner.invoke(
        app, ["exec", str(file), "--input", "a=1,000.50", "--input", "b=2", "--file", str(data)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "adding\noutput total: 1002.5\n"


def test_exec_without_a_terminal_fails_with_the_exception(tmp_path: Path) -> None:
    file = tmp_path / "ask.process"
    file.write_text('to go\n  ask "Approve?"\n')
    result = runner.invoke(app, ["exec", str(file)])
    assert result.exit_code == 1
    assert "exception on line 2, column 3: Approve?" in result.output
