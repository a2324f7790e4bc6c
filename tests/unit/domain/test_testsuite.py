"""Judging a test case's run: Passed, Failed with a diff, or Guidance Required."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from plainrun.domain import ids
from plainrun.domain.runs import NewRun, Run, RunState, Stage, Trigger, pending_row
from plainrun.domain.testsuite import judge, settled

EXPECTED = [{"name": "total", "value": 120.5}, {"name": "status", "value": "approved"}]


def run(state: RunState, *, outputs: list[dict[str, Any]] | None = None, error: Any = None) -> Run:
    new = NewRun(
        id=ids.new_id(),
        agent_id=ids.new_id(),
        process_id=ids.new_id(),
        name="case",
        stage=Stage.DRAFT,
        version=1,
        sha256="0" * 64,
        inputs=[],
        file_ids=[],
        trigger=Trigger.TEST,
        max_attempts=1,
        timeout_s=10.0,
        created_at=datetime(2024, 6, 4, tzinfo=UTC),
    )
    return dataclasses.replace(Run.from_row(pending_row(new)), state=state, outputs=outputs, error=error)


def test_a_run_with_every_expected_output_passes_whatever_else_it_output() -> None:
    outputs = [{"name": "status", "value": "approved"}, {"name": "total", "value": 120.5}]
    assert judge(EXPECTED, run(RunState.SUCCEEDED, outputs=[*outputs, {"name": "note", "value": "x"}])) == (
        "Passed",
        None,
    )
    assert judge([], run(RunState.SUCCEEDED, outputs=None)) == ("Passed", None)


def test_a_wrong_or_missing_output_fails_with_a_diff_in_the_cases_order() -> None:
    outputs = [{"name": "total", "value": 99}, {"name": "other", "value": "approved"}]
    assert judge(EXPECTED, run(RunState.SUCCEEDED, outputs=outputs)) == (
        "Failed",
        [
            {"problem": "Output Mismatch", "name": "total", "expected": 120.5, "actual": 99},
            {"problem": "Output Not Found", "name": "status", "expected": "approved"},
        ],
    )
    text_not_number = [{"name": "total", "value": "120.5"}, {"name": "status", "value": "approved"}]
    status, diff = judge(EXPECTED, run(RunState.SUCCEEDED, outputs=text_not_number))
    assert status == "Failed" and diff == [
        {"problem": "Output Mismatch", "name": "total", "expected": 120.5, "actual": "120.5"}
    ]


@pytest.mark.parametrize("state", [RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT])
def test_a_run_that_did_not_succeed_fails_with_its_state_and_message(state: RunState) -> None:
    assert judge(EXPECTED, run(state, error={"message": "the invoice has no total"})) == (
        "Failed",
        [{"problem": "Run Failed", "state": state.value, "message": "the invoice has no total"}],
    )
    _, diff = judge(EXPECTED, run(state))  # no error recorded: the state says what happened
    assert diff == [{"problem": "Run Failed", "state": state.value, "message": state.value}]


def test_a_run_waiting_on_a_question_requires_guidance_and_names_the_question() -> None:
    waiting = run(RunState.AWAITING_GUIDANCE, error={"message": "Approve this invoice of 12000?"})
    assert judge(EXPECTED, waiting) == (
        "Guidance Required",
        [{"problem": "Guidance Required", "question": "Approve this invoice of 12000?"}],
    )
    assert judge(EXPECTED, run(RunState.AWAITING_GUIDANCE))[1] == [
        {"problem": "Guidance Required", "question": ""}
    ]


def test_a_run_is_settled_when_it_ended_or_waits_for_a_person() -> None:
    assert {s for s in RunState if settled(run(s))} == {
        RunState.SUCCEEDED,
        RunState.FAILED,
        RunState.CANCELLED,
        RunState.TIMED_OUT,
        RunState.AWAITING_GUIDANCE,
    }
