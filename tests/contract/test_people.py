"""The people's side of the store: the Guidance Center's waiting runs, exception routing, every run
of an agent with its filters and count, and live log lines (the home page's figures: test_days.py)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from plainrun.domain.clock import utcnow
from plainrun.domain.guidance import Routing
from plainrun.domain.runs import Outcome, RunQuery, RunState, Trigger
from plainrun.store import Store
from tests.contract.conftest import make_process, make_runs, new_runs


def test_waiting_runs_are_listed_per_agent_oldest_first_and_counted(store: Store) -> None:
    process = make_process(store)
    other = make_process(store)
    make_runs(store, 3, process=process)
    make_runs(store, 1, process=other)
    claimed = store.execution.claim("w", limit=10, lease_s=30)
    error = {"message": "Approve?", "question": "Approve?", "line": 2, "choices": ["yes", "no"]}
    outcomes = [
        Outcome(r.id, r.attempt, RunState.AWAITING_GUIDANCE, error=error, exec_state={}) for r in claimed[:3]
    ]
    outcomes.append(Outcome(claimed[3].id, claimed[3].attempt, RunState.SUCCEEDED, outputs=[]))
    store.execution.finish(outcomes)
    mine = [r.id for r in claimed[:3] if r.process_id == process.id]
    waiting = store.guidance.waiting(process.agent_id)
    assert [q.run_id for q in waiting] == sorted(mine)
    assert waiting[0].question == "Approve?" and waiting[0].line == 2 and waiting[0].choices == ("yes", "no")
    assert store.guidance.count_waiting(process.agent_id) == len(mine)
    assert store.guidance.count_waiting(None) == 3  # an installation key sees every agent's
    assert store.guidance.waiting(process.agent_id, process_ids=[other.id]) == []
    assert [q.run_id for q in store.guidance.waiting(None, after_id=waiting[0].run_id)] == sorted(
        r.id for r in claimed[:3] if r.id > waiting[0].run_id
    )


def test_routing_is_set_and_replaced(store: Store) -> None:
    process = make_process(store)
    assert store.guidance.routing(process.id) is None
    store.guidance.set_routing(Routing(process.id, process.agent_id, ("u1",), ("a@example.com",)))
    store.guidance.set_routing(Routing(process.id, process.agent_id, ("u2",), ()))
    assert store.guidance.routing(process.id) == Routing(process.id, process.agent_id, ("u2",), ())
    assert store.guidance.routings(process.agent_id) == [Routing(process.id, process.agent_id, ("u2",), ())]


def test_every_run_of_an_agent_with_filters_and_a_count(store: Store) -> None:
    process = make_process(store)
    second = store.processes.create(
        agent_id=process.agent_id, name="q", source="to q\n  say 1\n", settings={}
    )
    first_ids = make_runs(store, 4, process=process)
    store.runs.create(
        [
            dataclasses.replace(n, name=f"Invoice {i}")
            for i, n in enumerate(new_runs(store, 2, process=second))
        ]
    )
    store.runs.create(
        [dataclasses.replace(n, trigger=Trigger.TEST) for n in new_runs(store, 1, process=process)]
    )
    agent = RunQuery(agent_id=process.agent_id)
    assert store.runs.count(agent) == 7
    assert store.runs.count(dataclasses.replace(agent, tests=False)) == 6
    assert len(store.runs.page(agent, limit=100)) == 7
    named = store.runs.page(dataclasses.replace(agent, name="invoice 1"), limit=100)
    assert [r.name for r in named] == ["Invoice 1"]
    assert store.runs.count(dataclasses.replace(agent, name="100%_")) == 0  # LIKE's signs are plain text
    assert store.runs.count(dataclasses.replace(agent, process_id=second.id)) == 2
    now = utcnow()
    assert (
        store.runs.count(
            dataclasses.replace(agent, since=now - timedelta(hours=1), until=now + timedelta(hours=1))
        )
        == 7
    )
    assert store.runs.count(dataclasses.replace(agent, until=now - timedelta(hours=1))) == 0
    page = store.runs.page(agent, limit=3)
    rest = store.runs.page(agent, before_id=page[-1].id, limit=100)
    assert [r.id for r in page + rest] == sorted((r.id for r in page + rest), reverse=True)
    assert set(first_ids) <= {r.id for r in page + rest}


def test_live_log_lines_are_written_only_while_the_attempt_runs(store: Store) -> None:
    [run_id] = make_runs(store, 1)
    [run] = store.execution.claim("w", limit=1, lease_s=30)
    at = utcnow()
    assert store.execution.log(run_id, run.attempt, [(at, {"text": "one"}), (at, {"text": "two"})])
    assert not store.execution.log(run_id, run.attempt + 1, [(at, {"text": "zombie"})])
    store.execution.cancel(run_id)
    store.execution.finish([Outcome(run_id, run.attempt, RunState.CANCELLED)])
    assert not store.execution.log(run_id, run.attempt, [(at, {"text": "late"})])
    logs = [e.data for e in store.runs.events(run_id) if e.kind == "log"]
    assert logs == [{"text": "one"}, {"text": "two"}]  # a cancelled run keeps what it logged
