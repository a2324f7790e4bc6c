"""Pause and resume: the state is JSON, survives a new process, and never repeats a book call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plainrun.language import (
    Execution,
    Failed,
    Guidance,
    Library,
    LocalEnvironment,
    Paused,
    StateError,
    Succeeded,
    parse,
    procedure,
)
from plainrun.language.books import default_library

CALLS: list[str] = []


@procedure("to charge a (customer)")
def charge(customer: str) -> str:
    CALLS.append(customer)
    if customer == "broken":
        raise RuntimeError("the card was declined")
    return f"receipt for {customer}"


LIBRARY = Library(
    [*default_library().procedures.values(), *Library.from_functions([charge]).procedures.values()]
)

SOURCE = """\
to bill a customer
  say "billing {the customer}"
  charge the customer
  the receipt is the above
  ask "Send the receipt {the receipt}?"
    the choices are "yes", "no"
  the answer is the above
  say "answer {the answer}"
  the output receipt is the receipt
  the output answer is the answer
"""


def restart(program: Any, state: dict[str, Any], env: LocalEnvironment) -> Execution:
    """A new Execution from state that went through JSON text, as after a restart of the service."""
    return Execution.from_json(program, json.loads(json.dumps(state)), env, library=LIBRARY)


def test_a_paused_run_resumes_from_json_and_never_repeats_a_completed_book_call(tmp_path: Path) -> None:
    CALLS.clear()
    program = parse(SOURCE, library=LIBRARY)
    env = LocalEnvironment(tmp_path)
    first = Execution.start(program, {"customer": "Ann"}, [], env, library=LIBRARY)
    paused = first.run()
    assert isinstance(paused, Paused)
    assert (paused.kind, paused.line, paused.choices) == ("ask", 5, ["yes", "no"])
    assert paused.question == "Send the receipt receipt for Ann?"
    assert paused.known_facts["receipt"] == "receipt for Ann"

    second = restart(program, first.to_json(), LocalEnvironment(tmp_path))
    assert second.pending == paused
    second.answer(Guidance("value", "YES"))
    done = second.run()
    assert isinstance(done, Succeeded)
    assert done.outputs == [
        {"name": "receipt", "value": "receipt for Ann"},
        {"name": "answer", "value": "yes"},
    ]
    assert CALLS == ["Ann"]
    assert done.log == ["billing Ann", "answer yes"]


def test_each_pass_writes_log_lines_once(tmp_path: Path) -> None:
    program = parse(SOURCE, library=LIBRARY)
    env = LocalEnvironment(tmp_path)
    ex = Execution.start(program, {"customer": "Bo"}, [], env, library=LIBRARY)
    ex.run()
    ex = restart(program, ex.to_json(), env)
    ex.answer(Guidance("value", "no"))
    ex.run()
    assert env.lines == ["billing Bo", "answer no"]


def test_a_failed_book_call_is_an_exception_and_guidance_can_retry_skip_or_give_a_value(
    tmp_path: Path,
) -> None:
    CALLS.clear()
    program = parse(SOURCE, library=LIBRARY)
    env = LocalEnvironment(tmp_path)
    ex = Execution.start(program, {"customer": "broken"}, [], env, library=LIBRARY)
    paused = ex.run()
    assert isinstance(paused, Paused) and paused.kind == "book" and paused.line == 3
    assert "the card was declined" in paused.question

    ex = restart(program, ex.to_json(), env)
    ex.answer(Guidance("retry"))
    again = ex.run()
    assert isinstance(again, Paused) and again.kind == "book"
    assert CALLS == ["broken", "broken"]  # retried once, each attempt journaled

    ex = restart(program, ex.to_json(), env)
    ex.answer(Guidance("value", "manual receipt"))
    asked = ex.run()
    assert isinstance(asked, Paused) and asked.question == "Send the receipt manual receipt?"
    ex = restart(program, ex.to_json(), env)
    ex.answer(Guidance("skip"))
    done = ex.run()
    assert isinstance(done, Succeeded)
    assert done.outputs == [
        {"name": "receipt", "value": "manual receipt"},
        {"name": "answer", "value": "Not Found"},
    ]
    assert CALLS == ["broken", "broken"]


def test_a_missing_fact_given_by_guidance_stays_defined(tmp_path: Path) -> None:
    program = parse("to go\n  say the code\n  say the code\n  the output code is the code\n")
    ex = Execution.start(program, {}, [], LocalEnvironment(tmp_path))
    paused = ex.run()
    assert isinstance(paused, Paused) and paused.facts == ["code"]
    ex.answer(Guidance("value", 42))
    done = ex.run()
    assert isinstance(done, Succeeded) and done.log == ["42", "42"]
    assert done.outputs == [{"name": "code", "value": 42}]


def test_stop_guidance_fails_the_run(tmp_path: Path) -> None:
    program = parse("to go\n  say the code\n")
    ex = Execution.start(program, {}, [], LocalEnvironment(tmp_path))
    ex.run()
    ex.answer(Guidance("stop"))
    outcome = ex.run()
    assert isinstance(outcome, Failed) and outcome.kind == "stopped" and outcome.line == 2


def test_the_clock_is_journaled_so_a_resumed_run_sees_the_same_time(tmp_path: Path) -> None:
    import datetime as dt

    times = iter([dt.datetime(2026, 1, 1, 8), dt.datetime(2027, 1, 1, 8)])
    env = LocalEnvironment(tmp_path, clock=lambda: next(times))
    program = parse('to go\n  the start is now\n  ask "ok?"\n  the output start is the start\n')
    ex = Execution.start(program, {}, [], env)
    ex.run()
    ex = Execution.from_json(program, ex.to_json(), env)
    ex.answer(Guidance("value", "ok"))
    outcome = ex.run()
    assert isinstance(outcome, Succeeded) and outcome.outputs == [
        {"name": "start", "value": "2026-01-01T08:00:00"}
    ]


def test_state_of_another_version_or_a_changed_process_is_refused(tmp_path: Path) -> None:
    env = LocalEnvironment(tmp_path)
    program = parse('to go\n  ask "ok?"\n')
    with pytest.raises(StateError):
        Execution.from_json(program, {"version": 99}, env)
    ex = Execution.start(program, {}, [], env)
    ex.run()
    ex.answer(Guidance("value", "x"))
    changed = parse("to go\n  the t is now\n")
    outcome = Execution.from_json(changed, ex.to_json(), env).run()
    assert isinstance(outcome, Failed) and "changed since the run paused" in outcome.message
    with pytest.raises(StateError):
        Execution.start(program, {}, [], env).answer(Guidance("skip"))


def test_guidance_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="guidance is one of"):
        Guidance("maybe")
