"""The Test Suite: test cases made from runs, test runs that replay them, and how a run is judged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plainrun.domain.runs import Run, RunState


@dataclass(frozen=True, slots=True)
class TestCase:
    __test__ = False  # not a pytest class

    id: str
    agent_id: str
    process_id: str
    name: str
    inputs: list[dict[str, Any]]
    file_ids: list[str]
    #: The outputs that count, ``[{"name", "value"}]``.
    expected: list[dict[str, Any]]
    source_run_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TestResult:
    __test__ = False

    test_run_id: str
    test_case_id: str
    process_id: str
    name: str
    run_id: str | None
    #: Pending, Passed, Failed, Guidance Required or Skipped.
    status: str
    diff: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class TestRun:
    __test__ = False

    id: str
    agent_id: str
    stage: str
    process_ids: list[str]
    #: Running, Finished or Stopped.
    state: str
    created_at: datetime
    finished_at: datetime | None


def settled(run: Run) -> bool:
    """Whether a test case's run can be judged: it ended, or it waits for a person."""
    return run.state.is_final or run.state is RunState.AWAITING_GUIDANCE


def judge(expected: Sequence[dict[str, Any]], run: Run) -> tuple[str, list[dict[str, Any]] | None]:
    """A settled run against a test case's expected outputs: (status, diff)."""
    if run.state is RunState.AWAITING_GUIDANCE:
        question = (run.error or {}).get("message", "")
        return "Guidance Required", [{"problem": "Guidance Required", "question": question}]
    if run.state is not RunState.SUCCEEDED:
        message = (run.error or {}).get("message", run.state.value)
        return "Failed", [{"problem": "Run Failed", "state": run.state.value, "message": message}]
    actual = {o["name"]: o["value"] for o in run.outputs or []}
    diff = []
    for item in expected:
        if item["name"] not in actual:
            diff.append({"problem": "Output Not Found", "name": item["name"], "expected": item["value"]})
        elif actual[item["name"]] != item["value"]:
            diff.append(
                {
                    "problem": "Output Mismatch",
                    "name": item["name"],
                    "expected": item["value"],
                    "actual": actual[item["name"]],
                }
            )
    return ("Failed", diff) if diff else ("Passed", None)
