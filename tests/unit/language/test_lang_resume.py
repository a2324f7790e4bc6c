"""Pause and resume: the state is JSON, survives a new process, and never repeats a book call."""

from __future__ import annotations

import datetime as dt
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


#: A run paused by the interpreter as it was before fact names could hold grammar words (commit
#: d63efb7), saved with ``Execution.to_json``: it must resume under this interpreter.
OLD_SOURCE = """\
to bill a customer
  say "billing {the customer}"
  the rows are the table
  sort the rows by "amount"
  the sorted is the above
  say the first sorted's amount
  the due is today + 30
  ask "Send the bill of {the sum of the rows's amount}?"
    the choices are "yes", "no"
  the output answer is the above
  the output due is the due
  the output first is the first sorted's name
"""
OLD_STATE: dict[str, Any] = {
    "version": 1,
    "entry": None,
    "inputs": {
        "customer": "Ann",
        "table": [
            {"$t": "record", "v": {"name": "b", "amount": "20.50"}},
            {"$t": "record", "v": {"name": "a", "amount": 3}},
        ],
    },
    "files": [],
    "email": None,
    "on_exception": "pause",
    "limits": {
        "max_steps": 50000000,
        "max_loop_iterations": 5000000,
        "max_depth": 100,
        "max_text_chars": 10000000,
        "max_list_items": 2000000,
        "max_memory_mb": 2048,
        "max_children": 50,
    },
    "journal": [
        {
            "kind": "book",
            "ok": [
                {"$t": "record", "v": {"name": "a", "amount": 3}},
                {"$t": "record", "v": {"name": "b", "amount": "20.50"}},
            ],
        },
        {"kind": "clock", "ok": {"$t": "datetime", "v": "2026-11-23T09:30:00+00:00"}},
    ],
    "log": ["billing Ann", "3"],
    "pending": {
        "outcome": "paused",
        "question": "Send the bill of 23.5?",
        "line": 8,
        "column": 3,
        "kind": "ask",
        "choices": ["yes", "no"],
        "facts": [],
        "known_facts": {
            "customer": "Ann",
            "table": [{"name": "b", "amount": "20.50"}, {"name": "a", "amount": 3}],
            "rows": [{"name": "b", "amount": "20.50"}, {"name": "a", "amount": 3}],
            "sorted": [{"name": "a", "amount": 3}, {"name": "b", "amount": "20.50"}],
            "due": "2026-12-23",
        },
        "log": ["billing Ann", "3"],
    },
    "outcome": None,
}


def test_a_run_saved_by_the_earlier_interpreter_resumes(tmp_path: Path) -> None:
    program = parse(OLD_SOURCE)
    later = LocalEnvironment(tmp_path, clock=lambda: dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    ex = restart(program, OLD_STATE, later)
    assert ex.pending is not None and ex.pending.question == "Send the bill of 23.5?"
    ex.answer(Guidance("value", "yes"))
    done = ex.run()
    assert isinstance(done, Succeeded), done
    assert done.log == ["billing Ann", "3"]  # nothing is said twice
    assert done.outputs == [  # the book call and the clock reading are replayed, not repeated
        {"name": "answer", "value": "yes"},
        {"name": "due", "value": "2026-12-23"},
        {"name": "first", "value": "a"},
    ]
