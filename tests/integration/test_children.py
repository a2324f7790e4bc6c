"""Child runs (``run to``, ``invoke to``, ``start a run`` / ``wait for the runs``) on a real worker.

The worker has ONE slot: a parent that held its slot while waiting would starve its own children,
so every test here also shows that a waiting parent is parked, not running.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.engine.worker import WorkerConfig
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.runs import RunRequest
from tests.integration.test_engine import STUCK, EngineHarness, running_engine

CHECK = (
    "to check the vendor\n"
    '  if the vendor name is "Shady Ltd" then\n'
    '    the output status is "blocked"\n'
    "    stop\n"
    '  the output status is "ok"\n'
    '  the output country is "{the country}"\n'
)
ONBOARD = (
    "to onboard a vendor\n"
    "  run to check the vendor where\n"
    "    the vendor name is the vendor\n"
    "    the country is the country\n"
    "  the check is the above\n"
    "  the output status is the check's status\n"
    "  the output country is the check's country\n"
)
PIES = (
    "to bake pies\n"
    "  invoke to check the vendor where\n"
    '    the vendor name is "Acme"\n'
    '    the country is "France"\n'
    '  for each flavour in "apple", "cherry", "plum"\n'
    "    start a run where\n"
    "      the procedure is /to make a pie\n"
    "      the flavour is the flavour\n"
    "  wait for the runs\n"
    "  the output pies are the runs\n"
    "\n"
    "to make a pie\n"
    '  the output pie is "{the flavour} pie"\n'
)
STRICT = "to check strictly\n  get the vendor code\n  the output code is the above\n"
USES_STRICT = "to use the strict check\n  run to check strictly\n  the output code is the above\n"
TOO_MANY = (
    "to start too many\n"
    f'  split "{",".join(str(i) for i in range(51))}" by ","\n'
    "  for each number in the above\n"
    "    invoke to make a pie where\n"
    '      the flavour is "n{the number}"\n'
    '  the output done is "yes"\n'
    "\n"
    "to make a pie\n"
    '  the output pie is "{the flavour} pie"\n'
)
WAITS_ON_STUCK = "to wait on a stuck child\n  run to test a slow pattern\n  the output found is the above\n"


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[EngineHarness]:
    """A worker with a single slot."""
    with running_engine(database_url, tmp_path, WorkerConfig(executor_size=1, concurrency=1)) as harness:
        yield harness


def test_run_to_starts_a_real_child_run_and_the_parent_resumes_with_its_outputs(
    engine: EngineHarness,
) -> None:
    engine.process(CHECK)
    parent_id = engine.start(engine.process(ONBOARD), vendor="Acme", country="France")
    parent = engine.wait_state(parent_id, RunState.SUCCEEDED)
    assert parent.outputs == [{"name": "status", "value": "ok"}, {"name": "country", "value": "France"}]

    children = engine.services.runs.children(SYSTEM, parent_id)
    assert len(children) == 1
    child = children[0]
    assert (child.state, child.trigger, child.trigger_ref, child.parent_run_id) == (
        RunState.SUCCEEDED,
        Trigger.SUBPROCESS,
        parent_id,
        parent_id,
    )
    assert child.inputs == [{"name": "vendor name", "value": "Acme"}, {"name": "country", "value": "France"}]
    # The parent was parked while the child ran, then resumed by replay in a second attempt.
    transitions = [
        (e.from_state, e.to_state) for e in engine.services.store.runs.events(parent_id) if e.to_state
    ]
    assert (RunState.RUNNING, RunState.WAITING) in transitions
    assert (RunState.WAITING, RunState.PENDING) in transitions
    assert transitions[-1] == (RunState.RUNNING, RunState.SUCCEEDED)
    assert RunState.WAITING.status.value == "Running"  # what the API shows meanwhile


def test_parallel_children_and_a_fire_and_forget_child(engine: EngineHarness) -> None:
    engine.process(CHECK)
    parent_id = engine.start(engine.process(PIES))
    parent = engine.wait_state(parent_id, RunState.SUCCEEDED)
    (pies_output,) = parent.outputs or []
    # An output is text or a number: a list of records is written as JSON.
    assert json.loads(pies_output["value"]) == [
        {"pie": "apple pie"},
        {"pie": "cherry pie"},
        {"pie": "plum pie"},
    ]
    children = engine.services.runs.children(SYSTEM, parent_id)
    assert len(children) == 4  # the invoked check and three pies, each a run of its own
    for child in children:
        engine.wait_state(child.id, RunState.SUCCEEDED)
    pies = [c for c in children if c.process_id == parent.process_id]
    assert sorted(c.inputs[0]["value"] for c in pies) == ["apple", "cherry", "plum"]


def test_a_childs_failure_surfaces_on_the_parent_as_an_exception_on_the_run_line(
    engine: EngineHarness,
) -> None:
    engine.process(STRICT)
    parent_id = engine.start(engine.process(USES_STRICT))
    parent = engine.wait_state(parent_id, RunState.AWAITING_GUIDANCE)
    (child,) = engine.services.runs.children(SYSTEM, parent_id)
    assert child.state is RunState.FAILED  # a child fails fast: the question surfaces on its parent
    assert parent.error is not None
    assert child.id in parent.error["message"] and "vendor code" in parent.error["message"]
    assert parent.error["line"] == 2

    # Guidance on the parent: the value stands in for the child's result, and the run goes on.
    engine.services.guidance.answer(SYSTEM, parent_id, action="value", value="V-1")
    parent = engine.wait_state(parent_id, RunState.SUCCEEDED)
    assert parent.outputs == [{"name": "code", "value": "V-1"}]


def test_a_run_starts_at_most_fifty_children(engine: EngineHarness) -> None:
    parent_id = engine.start(engine.process(TOO_MANY))
    parent = engine.wait_state(parent_id, RunState.AWAITING_GUIDANCE, timeout=60)
    assert parent.error is not None and "at most 50 child runs" in parent.error["message"]
    assert len(engine.services.runs.children(SYSTEM, parent_id)) == 50


def test_cancelling_a_waiting_parent_cancels_its_running_child(engine: EngineHarness) -> None:
    engine.process(STUCK)
    parent_id = engine.start(engine.process(WAITS_ON_STUCK))
    engine.wait_state(parent_id, RunState.WAITING)
    (child,) = engine.services.runs.children(SYSTEM, parent_id)
    engine.wait_state(child.id, RunState.RUNNING)

    assert engine.services.runs.cancel(SYSTEM, parent_id).state is RunState.CANCELLED
    engine.wait_state(child.id, RunState.CANCELLED, timeout=10)
    assert engine.run(parent_id).state is RunState.CANCELLED


def test_children_are_scoped_to_the_parents_agent(engine: EngineHarness) -> None:
    engine.process(CHECK)
    parent_id = engine.start(engine.process(ONBOARD), vendor="Acme", country="France")
    engine.wait_state(parent_id, RunState.SUCCEEDED)
    other = engine.services.store.agents.create("other").id
    with pytest.raises(Exception, match="not found"):
        engine.services.runs.children(Principal("k", other), parent_id)


def test_a_run_started_to_fail_fast_fails_at_its_first_exception(engine: EngineHarness) -> None:
    process_id = engine.process(STRICT)  # its process setting says: wait for guidance
    run = engine.services.runs.start(
        SYSTEM,
        RunRequest(
            agent_id=engine.agent_id,
            process_id=process_id,
            stage=Stage.DRAFT,
            name="from the editor",
            trigger=Trigger.MANUAL,
            on_exception="fail",
        ),
    )
    failed = engine.wait_state(run.id, RunState.FAILED)
    assert failed.error is not None and "vendor code" in failed.error["message"]
    assert failed.error["line"] == 2
    waiting = engine.wait_state(engine.start(process_id), RunState.AWAITING_GUIDANCE)
    assert waiting.error is not None and waiting.error["line"] == 2
    # The process text can say so too, over the process's setting.
    written = engine.process("to check strictly by its text\n  on exception: fail\n  get the vendor code\n")
    failed = engine.wait_state(engine.start(written), RunState.FAILED)
    assert failed.error is not None and failed.error["line"] == 3
