"""``plainrun check`` and ``plainrun exec``: the real command, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PLAINRUN = Path(sys.executable).with_name("plainrun")


def plainrun(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PLAINRUN), *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_check_prints_the_name_and_inputs_of_a_valid_process(tmp_path: Path) -> None:
    file = tmp_path / "ok.process"
    file.write_text('to greet a customer\n  say "hello {the customer\'s name}"\n  say the last name\n')
    result = plainrun("check", str(file))
    assert (result.returncode, result.stdout) == (
        0,
        "process: greet a customer\ninputs: customer, last name\n",
    )


def test_check_reports_every_error_with_a_caret_and_exits_1(tmp_path: Path) -> None:
    file = tmp_path / "bad.process"
    file.write_text("to go\n  the total is\n  frobnicate the total\n")
    result = plainrun("check", str(file))
    assert result.returncode == 1
    assert (
        f'{file}:2:15: expected a value after "is"\n      the total is\n                  ^' in result.stderr
    )
    assert f'{file}:3:3: no procedure matches "frobnicate the total"' in result.stderr
    assert result.stderr.rstrip().endswith("2 errors")


def test_exec_prints_the_log_then_the_outputs(tmp_path: Path) -> None:
    file = tmp_path / "sum.process"
    file.write_text(
        'to add up\n  say "adding {the file\'s name}"\n  the output total is the days to pay + the fee\n'
    )
    data = tmp_path / "note.txt"
    data.write_text("hi")
    result = plainrun("exec", str(file), "-i", "days to pay=1,000.50", "--input", "fee=$20", "-f", str(data))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "adding note.txt\noutput total: 1020.5\n"


def test_exec_without_a_terminal_ends_at_the_exception_with_its_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "ask.process"
    file.write_text('to go\n  say "asking"\n  ask "Approve?"\n')
    result = plainrun("exec", str(file))
    assert (result.returncode, result.stdout) == (1, "asking\n")
    assert result.stderr == "exception on line 3, column 3: Approve?\n"


def test_exec_refuses_a_malformed_input_and_fails_fast_on_request(tmp_path: Path) -> None:
    file = tmp_path / "fail.process"
    file.write_text("to go\n  say the amount * 2\n")
    assert plainrun("exec", str(file), "-i", "amount").returncode == 2
    failed = plainrun("exec", str(file), "--on-exception", "fail")
    assert (failed.returncode, failed.stderr) == (1, "failed on line 2, column 7: What is the amount?\n")
