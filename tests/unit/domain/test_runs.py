"""Runs: the state machine's table of moves, the API status of each state, the rows and events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from plainrun.domain import ids
from plainrun.domain.runs import (
    FINAL_STATES,
    FINISH,
    MOVES,
    TRANSITIONS,
    Move,
    NewRun,
    Outcome,
    Run,
    RunState,
    RunStatus,
    Stage,
    Trigger,
    can_move,
    created_events,
    event_row,
    log_events,
    pending_row,
    states_with_status,
)
from plainrun.store import schema

S = RunState
AT = datetime(2024, 6, 4, 8, 30, tzinfo=UTC)
ALL_PAIRS = list(itertools.product(RunState, RunState))

#: The diagram of ``plainrun.domain.runs``, edge by edge.
DIAGRAM = {
    S.PENDING: {S.RUNNING, S.CANCELLED},
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT, S.AWAITING_GUIDANCE, S.WAITING, S.PENDING},
    S.AWAITING_GUIDANCE: {S.PENDING, S.FAILED, S.CANCELLED},
    S.WAITING: {S.PENDING, S.CANCELLED},
    S.SUCCEEDED: set(),
    S.FAILED: set(),
    S.CANCELLED: set(),
    S.TIMED_OUT: set(),
}


def new_run(**fields: object) -> NewRun:
    values: dict[str, object] = {
        "id": ids.new_id(),
        "agent_id": ids.new_id(),
        "process_id": ids.new_id(),
        "name": "invoice A-17",
        "stage": Stage.PUBLISHED,
        "version": 3,
        "sha256": "ab" * 32,
        "inputs": [{"name": "amount", "value": 120.5}],
        "file_ids": [ids.new_id()],
        "trigger": Trigger.EMAIL,
        "max_attempts": 3,
        "timeout_s": 60.0,
        "created_at": AT,
        "trigger_ref": "<m1@acme.example>",
        **fields,
    }
    return NewRun(**values)  # type: ignore[arg-type]


def test_transitions_are_the_diagrams_edges_and_nothing_else() -> None:
    assert {state: set(targets) for state, targets in TRANSITIONS.items()} == DIAGRAM
    for frm, to in ALL_PAIRS:
        assert can_move(frm, to) == (to in DIAGRAM[frm])


def test_no_move_leaves_a_final_state_and_every_other_state_can_reach_one() -> None:
    assert {s for s in RunState if s.is_final} == FINAL_STATES
    assert all(not any(frm in m.sources for m in MOVES) for frm in FINAL_STATES)
    for start in set(RunState) - FINAL_STATES:
        seen, frontier = {start}, {start}
        while frontier:
            frontier = {t for s in frontier for t in TRANSITIONS[s]} - seen
            seen |= frontier
        assert seen & FINAL_STATES, start


def test_running_may_finish_in_every_finish_target_and_only_running_finishes() -> None:
    assert FINISH.sources == {S.RUNNING}
    for target in FINISH.targets:
        row = FINISH.event_row("r", attempt=1, at=AT, from_state=S.RUNNING, to_state=target)
        assert (row["from_state"], row["to_state"], row["kind"]) == ("Running", target.value, "state")


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.name)
def test_a_move_builds_the_event_of_each_pair_it_allows_and_refuses_every_other(move: Move) -> None:
    for frm, to in ALL_PAIRS:
        if frm in move.sources and to in move.targets:
            row = move.event_row("r1", attempt=2, at=AT, from_state=frm, to_state=to, data={"k": 1})
            assert row == {
                "run_id": "r1",
                "at": AT,
                "kind": move.event,
                "from_state": frm.value,
                "to_state": to.value,
                "attempt": 2,
                "data": {"k": 1},
            }
        else:
            with pytest.raises(ValueError, match=move.name):
                move.event_row("r1", attempt=2, at=AT, from_state=frm, to_state=to)


def test_moves_that_give_the_attempt_back_are_those_that_end_it_without_the_runs_fault() -> None:
    assert {m.name for m in MOVES if m.refund} == {"hand_back", "wake", "resume"}


def test_every_state_has_an_api_status_and_states_with_status_inverts_it() -> None:
    assert all(isinstance(state.status, RunStatus) for state in RunState)
    by_status = {status: states_with_status(status) for status in RunStatus}
    assert all(by_status.values()), "a status no state reports"
    assert sorted(itertools.chain(*by_status.values())) == sorted(RunState)  # each state once
    for status, states in by_status.items():
        assert all(state.status is status for state in states)
    assert S.WAITING.status is RunStatus.RUNNING  # parked on its children: still running to the API
    assert S.AWAITING_GUIDANCE.status is S.FAILED.status is RunStatus.EXCEPTION


def test_a_pending_row_has_the_store_columns_and_reads_back_as_the_run_it_describes() -> None:
    new = new_run(rerun_of=ids.new_id(), exec_state={"options": {"on_exception": "fail"}})
    row = pending_row(new)
    assert set(row) == {c.name for c in schema.runs.columns}
    run = Run.from_row(row)
    described = set(NewRun.__dataclass_fields__) - {"process_seen"}  # how it was prepared, not a column
    assert all(getattr(run, name) == getattr(new, name) for name in described)
    assert (run.state, run.attempt, run.archived, run.cancel_requested) == (S.PENDING, 0, False, False)
    assert run.outputs is run.error is run.lease_owner is run.started_at is run.finished_at is None
    assert (row["stage"], row["trigger"], row["state"]) == ("Published", "email", "Pending")


def test_created_events_record_each_run_entering_pending_with_its_trigger() -> None:
    rows = [pending_row(new_run()), pending_row(new_run(trigger=Trigger.SCHEDULE))]
    events = created_events(rows, {"by": "scheduler"})
    assert set(events[0]) == {c.name for c in schema.run_events.columns} - {"id"}
    assert [(e["run_id"], e["at"], e["attempt"]) for e in events] == [(r["id"], AT, 0) for r in rows]
    assert all((e["kind"], e["from_state"], e["to_state"]) == ("created", None, "Pending") for e in events)
    assert [e["data"] for e in events] == [
        {"trigger": "email", "by": "scheduler"},
        {"trigger": "schedule", "by": "scheduler"},
    ]


def test_log_lines_become_log_events_of_their_attempt_in_order() -> None:
    lines = [{"text": "one", "line": 2}, {"text": "two", "line": 5}]
    events = log_events("r1", 4, AT, lines)
    assert events == [event_row("log", "r1", attempt=4, at=AT, data=line) for line in lines]
    assert [(e["kind"], e["attempt"], e["data"]["text"], e["to_state"]) for e in events] == [
        ("log", 4, "one", None),
        ("log", 4, "two", None),
    ]
    assert events[0]["data"] is not lines[0]  # a copy: the event does not change with the line


def test_an_outcome_is_final_exactly_when_it_ends_the_run() -> None:
    for state in RunState:
        assert Outcome("r", 1, state).final == (state in FINAL_STATES)


def test_an_outcome_is_plain_unless_it_parks_starts_children_or_wakes_a_parent() -> None:
    assert Outcome("r", 1, S.SUCCEEDED).plain
    assert Outcome("r", 1, S.AWAITING_GUIDANCE, parent_run_id="p").plain  # not final: no parent to wake
    assert not Outcome("r", 1, S.WAITING).plain
    assert not Outcome("r", 1, S.FAILED, parent_run_id="p").plain
    assert not Outcome("r", 1, S.WAITING, children=[new_run()]).plain
