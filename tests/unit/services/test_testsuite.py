"""Re-runs and the Test Suite: per-run results, test cases from succeeded runs, test runs judged on read."""

from __future__ import annotations

from typing import Any

import pytest

from plainrun.domain.agents import Agent
from plainrun.domain.processes import Process
from plainrun.domain.runs import Run, RunState, Stage, Trigger
from plainrun.errors import Conflict, InvalidInput, InvalidToken, NotFound
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from plainrun.services.runs import RunRequest
from tests.unit.services.conftest import agent_principal, new_process, settle

OUTPUTS = [{"name": "sum", "value": 107}, {"name": "note", "value": "paid"}]


@pytest.fixture
def acme(services: Services) -> Agent:
    return services.agents.create(SYSTEM, "acme")


@pytest.fixture
def process(services: Services, acme: Agent) -> Process:
    return new_process(services, acme)


def start(services: Services, process: Process, stage: Stage = Stage.DRAFT, **kw: Any) -> Run:
    request = RunRequest(
        agent_id=process.agent_id, process_id=process.id, stage=stage, name=kw.pop("name", "invoice"), **kw
    )
    return services.runs.start(SYSTEM, request)


def succeeded(services: Services, process: Process, n: int) -> list[Run]:
    """Runs of the process that succeeded with ``OUTPUTS``, inputs ``amount`` 0 … n-1."""
    runs = [start(services, process, name=f"case {i}", inputs={"amount": i, "tax": 7}) for i in range(n)]
    settle(services, [(r.id, RunState.SUCCEEDED, {"outputs": OUTPUTS}) for r in runs])
    return runs


def test_a_rerun_reports_each_run_on_its_own(services: Services, acme: Agent, process: Process) -> None:
    services.processes.publish(SYSTEM, process.id)
    file = services.files.put(SYSTEM, agent_id=acme.id, name="a.csv", content_type="text/csv", data=b"a")
    original = start(services, process, Stage.PUBLISHED, inputs={"amount": 5}, file_ids=[file.id])
    draft = start(services, process)
    foreign = start(services, new_process(services, services.agents.create(SYSTEM, "other")))
    # The stored draft no longer parses: a rerun of a Draft run is refused, the others are not.
    services.store.processes.update(process.id, source="to go\n  the total is\n")
    insider = agent_principal(services, acme)
    results = services.tests.rerun(insider, [original.id, "0" * 25, foreign.id, draft.id, "not an id"])
    assert [r["result"] for r in results] == ["started", "not_found", "not_found", "refused", "not_found"]
    assert [r["run_id"] for r in results] == [original.id, "0" * 25, foreign.id, draft.id, "not an id"]
    assert "syntax error" in results[3]["message"]
    again = services.runs.get(SYSTEM, results[0]["new_run_id"])
    assert (again.inputs, again.file_ids, again.stage, again.version) == (
        original.inputs,
        [file.id],
        Stage.PUBLISHED,
        1,
    )
    assert (again.trigger, again.rerun_of) == (Trigger.RERUN, original.id)


def test_a_test_case_comes_from_a_succeeded_run_with_the_outputs_that_count(
    services: Services, acme: Agent, process: Process
) -> None:
    done, other = succeeded(services, process, 2)
    failed, pending = start(services, process), start(services, process)
    settle(services, [(failed.id, RunState.FAILED, {"error": {"message": "no"}})])
    results = services.tests.add_cases(SYSTEM, [done.id, failed.id, pending.id, "0" * 25])
    assert [r["result"] for r in results] == ["added", "refused", "refused", "not_found"]
    # A run makes one test case at most, even when named twice at once.
    [again] = services.tests.add_cases(SYSTEM, [done.id])
    assert (again["result"], again["message"]) == ("refused", "The run is already the test case “case 0”.")
    [missing] = services.tests.add_cases(SYSTEM, [other.id], outputs=["sum", "total", "vat"])
    assert (missing["result"], missing["message"]) == ("refused", "No such outputs: total, vat")
    only_sum, twice = services.tests.add_cases(SYSTEM, [other.id, other.id], outputs=["sum"])
    assert (only_sum["result"], twice["result"]) == ("added", "refused")
    cases = services.tests.cases(SYSTEM, agent_id=acme.id, process_id=process.id)
    assert [c.id for c in cases] == [results[0]["test_case_id"], only_sum["test_case_id"]]
    assert [c.expected for c in cases] == [OUTPUTS, OUTPUTS[:1]]
    assert [(c.inputs, c.source_run_id, c.name) for c in cases] == [
        (done.inputs, done.id, "case 0"),
        (other.inputs, other.id, "case 1"),
    ]
    # Choosing the outputs a case compares takes their values from its run.
    chosen = services.tests.compare_outputs(SYSTEM, cases[1].id, [o["name"] for o in OUTPUTS])
    assert chosen.expected == OUTPUTS == services.tests.case(SYSTEM, cases[1].id).expected
    with pytest.raises(InvalidInput):
        services.tests.compare_outputs(SYSTEM, cases[1].id, ["nope"])
    services.tests.remove_case(SYSTEM, cases[0].id)
    with pytest.raises(NotFound):
        services.tests.remove_case(SYSTEM, cases[0].id)
    assert services.tests.cases(SYSTEM, agent_id=acme.id, process_id=process.id) == [chosen]


def test_a_test_run_starts_a_run_per_case_and_judges_each_as_it_settles(
    services: Services, acme: Agent, process: Process
) -> None:
    sources = succeeded(services, process, 3)
    cases = services.tests.add_cases(SYSTEM, [r.id for r in sources])
    test_run, results = services.tests.start(
        SYSTEM, agent_id=acme.id, process_ids=[process.id, process.id], stage=Stage.DRAFT
    )
    assert (test_run.state, test_run.process_ids) == ("Running", [process.id])
    assert [r.test_case_id for r in results] == [c["test_case_id"] for c in cases]
    assert all(r.status == "Pending" and r.run_id for r in results)
    runs = [services.runs.get(SYSTEM, r.run_id or "") for r in results]
    assert [(r.trigger, r.trigger_ref, r.name) for r in runs] == [
        (Trigger.TEST, test_run.id, f"test: case {i}") for i in range(3)
    ]
    assert [r.inputs for r in runs] == [s.inputs for s in sources]

    settle(services, [(runs[0].id, RunState.SUCCEEDED, {"outputs": [*OUTPUTS, {"name": "x", "value": 1}]})])
    test_run, results = services.tests.get(SYSTEM, test_run.id)
    assert test_run.state == "Running" and [r.status for r in results] == ["Passed", "Pending", "Pending"]

    wrong = [{"name": "sum", "value": 106}, {"name": "note", "value": "paid"}]
    question = {"message": "Approve this invoice?"}
    settle(
        services,
        [
            (runs[1].id, RunState.SUCCEEDED, {"outputs": wrong}),
            (runs[2].id, RunState.AWAITING_GUIDANCE, {"error": question}),
        ],
    )
    test_run, results = services.tests.get(SYSTEM, test_run.id)
    assert test_run.state == "Finished" and test_run.finished_at is not None
    assert [(r.status, r.diff) for r in results] == [
        ("Passed", None),
        ("Failed", [{"problem": "Output Mismatch", "name": "sum", "expected": 107, "actual": 106}]),
        ("Guidance Required", [{"problem": "Guidance Required", "question": "Approve this invoice?"}]),
    ]
    assert services.runs.get(SYSTEM, runs[2].id).state is RunState.CANCELLED  # nobody waits on it
    assert services.tests.get(SYSTEM, test_run.id) == (test_run, results)  # judged once


def test_cases_of_a_stage_with_nothing_to_run_are_skipped(
    services: Services, acme: Agent, process: Process
) -> None:
    services.tests.add_cases(SYSTEM, [r.id for r in succeeded(services, process, 2)])
    test_run, results = services.tests.start(
        SYSTEM, agent_id=acme.id, process_ids=[process.id], stage=Stage.PUBLISHED
    )
    assert test_run.state == "Finished"  # nothing to wait for
    assert [(r.status, r.run_id) for r in results] == [("Skipped", None), ("Skipped", None)]
    assert all("no published version" in (r.diff or [{}])[0]["message"] for r in results)
    with pytest.raises(InvalidInput, match="at least one"):
        services.tests.start(SYSTEM, agent_id=acme.id, process_ids=[], stage=Stage.DRAFT)


def test_stopping_a_test_run_skips_and_cancels_what_is_pending(
    services: Services, acme: Agent, process: Process
) -> None:
    services.tests.add_cases(SYSTEM, [r.id for r in succeeded(services, process, 2)])
    test_run, results = services.tests.start(
        SYSTEM, agent_id=acme.id, process_ids=[process.id], stage=Stage.DRAFT
    )
    settle(services, [(results[0].run_id or "", RunState.SUCCEEDED, {"outputs": OUTPUTS})])
    stopped, after = services.tests.stop(SYSTEM, test_run.id)
    assert stopped.state == "Stopped" and [r.status for r in after] == ["Passed", "Skipped"]
    assert after[1].diff == [{"problem": "Skipped", "message": "The test run was stopped."}]
    assert services.runs.get(SYSTEM, results[1].run_id or "").state is RunState.CANCELLED
    with pytest.raises(Conflict, match="Stopped"):
        services.tests.stop(SYSTEM, test_run.id)


def test_test_run_history_is_newest_first_in_pages_bound_to_the_agent(
    services: Services, acme: Agent, process: Process
) -> None:
    made = [
        services.tests.start(SYSTEM, agent_id=acme.id, process_ids=[process.id], stage=Stage.DRAFT)[0]
        for _ in range(3)
    ]
    first = services.tests.history(SYSTEM, acme.id, limit=2)
    rest = services.tests.history(SYSTEM, acme.id, limit=2, continuation_token=first.continuation_token)
    assert [t.id for t in first.items + rest.items] == [t.id for t in reversed(made)]
    assert rest.continuation_token is None
    other = services.agents.create(SYSTEM, "other")
    with pytest.raises(InvalidToken):
        services.tests.history(SYSTEM, other.id, continuation_token=first.continuation_token)


def test_an_agents_key_sees_nothing_of_another_agents_test_suite(
    services: Services, acme: Agent, process: Process
) -> None:
    [done] = succeeded(services, process, 1)
    [case] = services.tests.add_cases(SYSTEM, [done.id])
    test_run, _ = services.tests.start(SYSTEM, agent_id=acme.id, process_ids=[process.id], stage=Stage.DRAFT)
    other = services.agents.create(SYSTEM, "other")
    outsider = agent_principal(services, other)
    for act in (
        lambda: services.tests.cases(outsider, agent_id=acme.id, process_id=process.id),
        lambda: services.tests.cases(outsider, agent_id=other.id, process_id=process.id),
        lambda: services.tests.remove_case(outsider, case["test_case_id"]),
        lambda: services.tests.start(outsider, agent_id=acme.id, process_ids=[process.id], stage=Stage.DRAFT),
        lambda: services.tests.start(
            outsider, agent_id=other.id, process_ids=[process.id], stage=Stage.DRAFT
        ),
        lambda: services.tests.get(outsider, test_run.id),
        lambda: services.tests.stop(outsider, test_run.id),
        lambda: services.tests.history(outsider, acme.id),
    ):
        with pytest.raises(NotFound):
            act()
    assert services.tests.add_cases(outsider, [done.id]) == [{"run_id": done.id, "result": "not_found"}]
    assert services.tests.rerun(outsider, [done.id]) == [{"run_id": done.id, "result": "not_found"}]
    assert len(services.tests.cases(SYSTEM, agent_id=acme.id, process_id=process.id)) == 1
    assert services.tests.get(SYSTEM, test_run.id)[0].state == "Running"
