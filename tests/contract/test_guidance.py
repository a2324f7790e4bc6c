"""Guidance: a waiting run resumed or stopped (fenced on its attempt), and learnings."""

from __future__ import annotations

from plainrun.domain.runs import Outcome, RunState
from plainrun.store import Store
from tests.contract.conftest import make_process, make_runs


def _paused(store: Store, *, parent_run_id: str | None = None) -> tuple[str, int]:
    process = make_process(store)
    [run_id] = make_runs(store, 1, process=process, parent_run_id=parent_run_id)
    [run] = store.execution.claim("w", limit=1, lease_s=30)
    error = {"message": "Which?", "question": "Which?", "line": 2}
    store.execution.finish(
        [Outcome(run_id, run.attempt, RunState.AWAITING_GUIDANCE, error=error, exec_state={"j": 1})]
    )
    return run_id, run.attempt


def test_an_answer_resumes_a_waiting_run_once(store: Store) -> None:
    run_id, attempt = _paused(store)
    assert not store.guidance.resume(
        run_id, attempt=attempt + 1, exec_state={"j": 2}, event_data={}
    )  # fenced
    assert store.guidance.resume(run_id, attempt=attempt, exec_state={"j": 2}, event_data={"by": "k"})
    assert not store.guidance.resume(run_id, attempt=attempt, exec_state={"j": 3}, event_data={})  # answered
    run = store.runs.get(run_id)
    assert (
        run is not None and run.state is RunState.PENDING and run.exec_state == {"j": 2} and run.error is None
    )
    assert run.max_attempts == 3  # the pause is not a lost attempt
    event = store.runs.events(run_id)[-1]
    assert (event.kind, event.to_state, event.data) == ("guidance", RunState.PENDING, {"by": "k"})


def test_stop_fails_a_waiting_run_and_wakes_its_parent(store: Store) -> None:
    run_id, attempt = _paused(store)
    error = {"kind": "stopped", "message": "stopped"}
    assert store.guidance.stop(run_id, attempt=attempt, error=error, event_data={"action": "stop"})
    assert not store.guidance.stop(run_id, attempt=attempt, error=error, event_data={})
    run = store.runs.get(run_id)
    assert run is not None and run.state is RunState.FAILED and run.error == error and run.finished_at


def test_learnings_are_found_by_question_and_line_and_replaced(store: Store) -> None:
    process = make_process(store)
    first = store.guidance.remember(
        agent_id=process.agent_id,
        process_id=process.id,
        line=3,
        question="Approve?",
        action="value",
        value="yes",
    )
    assert store.guidance.find(process.id, 3, "Approve?") == first == store.guidance.get(first.id)
    assert store.guidance.find(process.id, 4, "Approve?") is None
    second = store.guidance.remember(
        agent_id=process.agent_id, process_id=process.id, line=3, question="Approve?", action="stop"
    )
    assert store.guidance.of_process(process.id) == [second] and store.guidance.get(first.id) is None
    assert store.guidance.forget(second.id) and not store.guidance.forget(second.id)
