"""Starting runs (every way goes through ``prepare``), reading and paging them, cancel and archive."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from plainrun.domain.agents import Agent
from plainrun.domain.runs import Run, RunState, Stage, Trigger
from plainrun.errors import Conflict, InvalidInput, InvalidToken, NotFound
from plainrun.services.access import SYSTEM
from plainrun.services.compiler import ProcessSourceInvalid
from plainrun.services.container import Services, build_services
from plainrun.services.runs import (
    MAX_FILES,
    MAX_INPUT_TEXT,
    MAX_INPUTS,
    RunFilter,
    RunRequest,
    normalize_inputs,
)
from plainrun.settings import Settings
from tests.unit.services.conftest import SOURCE, agent_principal, new_process, settle


@pytest.fixture
def acme(services: Services) -> Agent:
    return services.agents.create(SYSTEM, "acme")


def request(process_id: str, agent: Agent, stage: Stage = Stage.DRAFT, **kw: Any) -> RunRequest:
    return RunRequest(agent_id=agent.id, process_id=process_id, stage=stage, name="invoice", **kw)


# --- inputs --------------------------------------------------------------------------------------


def test_inputs_as_a_list_or_an_object_start_the_same_run(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    as_list = [{"name": "amount", "value": 120.5}, {"name": "the tax", "value": "7%"}]
    as_object = {"amount": 120.5, "the tax": "7%"}
    runs = [services.runs.start(SYSTEM, request(process.id, acme, inputs=i)) for i in (as_list, as_object)]
    assert [r.inputs for r in runs] == [as_list, as_list]
    assert [services.runs.get(SYSTEM, r.id).inputs for r in runs] == [as_list, as_list]
    assert services.runs.start(SYSTEM, request(process.id, acme)).inputs == []


def test_inputs_at_their_bounds_are_taken() -> None:
    many = {f"input {n}": n for n in range(MAX_INPUTS)}
    assert len(normalize_inputs(many)) == MAX_INPUTS
    longest = {"n" * 100: "t" * MAX_INPUT_TEXT, "x": -1.5, "y": 0}
    assert normalize_inputs(longest) == [{"name": k, "value": v} for k, v in longest.items()]


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        ({f"input {n}": n for n in range(MAX_INPUTS + 1)}, "at most"),
        ({"": 1}, "name"),
        ({"n" * 101: 1}, "name"),
        ([{"name": 5, "value": 1}], "name"),
        ({"approved": True}, "text or a number"),
        ({"amount": None}, "text or a number"),
        ({"amount": [1, 2]}, "text or a number"),
        ({"amount": {"value": 1}}, "text or a number"),
        ({"note": "t" * (MAX_INPUT_TEXT + 1)}, "longer"),
        ({"Amount": 1, "amount": 2}, "once"),
        ({"the_tax": 1, "The  Tax": 2}, "once"),
        ([{"name": "amount", "value": 1}, {"name": "amount", "value": 1}], "once"),
    ],
    ids=[
        "too-many",
        "empty-name",
        "long-name",
        "name-not-text",
        "bool",
        "null",
        "list",
        "object",
        "long-text",
        "same-name-in-another-case",
        "same-name-with-underscores-and-spaces",
        "same-name-twice",
    ],
)
def test_inputs_out_of_bounds_are_refused(inputs: Any, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        normalize_inputs(inputs)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (math.nan, "NaN"),
        (math.inf, "finite"),
        (-math.inf, "finite"),
        (10**4000, "4000 digits"),
        (-(10**4000), "4000 digits"),
    ],
)
def test_numbers_the_store_cannot_keep_are_refused_as_inputs_saying_why(value: float, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        normalize_inputs({"amount": value})


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**3999 - 1, -(10**3999) + 1, 2**63 - 1])
def test_whole_numbers_beyond_64_bits_are_kept_exactly(services: Services, acme: Agent, value: int) -> None:
    process = new_process(services, acme)
    run = services.runs.start(SYSTEM, request(process.id, acme, inputs={"amount": value, "as text": "x"}))
    kept = services.runs.get(SYSTEM, run.id).inputs[0]["value"]
    assert type(kept) is int and kept == value


def test_an_async_start_the_store_cannot_write_fails_instead_of_waiting_forever(
    services: Services, acme: Agent
) -> None:
    """A failure that is not a refusal (here a value the JSON encoder cannot write, put past the
    service's checks) reaches the caller on the loop; the group commit does not keep it waiting."""
    process = new_process(services, acme)
    new = services.runs.prepare(SYSTEM, request(process.id, acme))
    unwritable = dataclasses.replace(new, inputs=[{"name": "amount", "value": {1, 2}}])

    async def start() -> object:
        return await asyncio.wait_for(services.store.runs.create_async([unwritable]), timeout=10)

    with pytest.raises(TypeError):
        asyncio.run(start())
    assert services.store.runs.get(unwritable.id) is None


def test_an_async_start_writes_the_run_as_a_start_does(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)

    async def start_two() -> list[Run]:
        return list(
            await asyncio.gather(
                services.runs.start_async(SYSTEM, request(process.id, acme, inputs={"amount": 1})),
                services.runs.start_async(SYSTEM, request(process.id, acme, inputs={"amount": 2})),
            )
        )

    runs = asyncio.run(start_two())
    assert [services.runs.get(SYSTEM, r.id) for r in runs] == runs
    assert [r.inputs[0]["value"] for r in runs] == [1, 2]
    with pytest.raises(NotFound):
        asyncio.run(services.runs.start_async(SYSTEM, request("0" * 25, acme)))


def test_starts_on_the_loop_reuse_the_last_read_and_see_another_servers_publish(
    services: Services, acme: Agent, sqlite_url: str, tmp_path: Path
) -> None:
    process = new_process(services, acme, publish=True)
    published = request(process.id, acme, Stage.PUBLISHED, inputs={"amount": 1, "tax": 2})
    first = asyncio.run(services.runs.start_async(SYSTEM, published))
    assert first.version == 1 and services.store.processes.seen_for_run(process.id, Stage.PUBLISHED)
    assert asyncio.run(services.runs.start_async(SYSTEM, published)).version == 1  # from the read kept
    other = build_services(Settings(database_url=sqlite_url, data_dir=tmp_path))
    try:
        other.processes.update_draft(SYSTEM, process.id, source=SOURCE + "  the total is the sum\n")
        other.processes.publish(SYSTEM, process.id)
    finally:
        other.close()
    again = asyncio.run(services.runs.start_async(SYSTEM, published))
    assert again.version == 2 and services.runs.get(SYSTEM, again.id).version == 2


# --- files ---------------------------------------------------------------------------------------


def test_files_are_the_agents_own_uploaded_ones_in_order_and_once(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    other = services.agents.create(SYSTEM, "other")
    put = services.files.put
    first = put(SYSTEM, agent_id=acme.id, name="a.csv", content_type="text/csv", data=b"a")
    second = put(SYSTEM, agent_id=acme.id, name="b.csv", content_type="text/csv", data=b"b")
    run = services.runs.start(SYSTEM, request(process.id, acme, file_ids=[second.id, first.id, second.id]))
    assert run.file_ids == [second.id, first.id]
    assert [f.name for f in services.runs.files(SYSTEM, run)] == ["b.csv", "a.csv"]

    foreign = put(SYSTEM, agent_id=other.id, name="x.csv", content_type="text/csv", data=b"x")
    waiting = services.files.create_upload(SYSTEM, agent_id=acme.id, name="c.csv", content_type="text/csv")
    for refused in (foreign.id, waiting.file.id, "0" * 25, "not an id"):
        with pytest.raises(NotFound, match="file") as caught:
            services.runs.start(SYSTEM, request(process.id, acme, file_ids=[first.id, refused]))
        assert caught.value.details == [("file_id", refused)]
    with pytest.raises(InvalidInput, match=str(MAX_FILES)):
        services.runs.start(SYSTEM, request(process.id, acme, file_ids=[first.id] * (MAX_FILES + 1)))


# --- what a run runs -------------------------------------------------------------------------------


def test_on_exception_is_pause_fail_or_the_processes_own(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    for value in ("fail", "pause"):
        new = services.runs.prepare(SYSTEM, request(process.id, acme, on_exception=value))
        assert new.exec_state == {"options": {"on_exception": value}}
    assert services.runs.prepare(SYSTEM, request(process.id, acme)).exec_state is None
    with pytest.raises(InvalidInput, match="on_exception"):
        services.runs.prepare(SYSTEM, request(process.id, acme, on_exception="stop"))


def test_a_draft_with_syntax_errors_is_refused_before_it_runs_with_each_line_and_column(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme, publish=True)
    services.store.processes.update(process.id, source="to go\n  the total is\n  say 1 +\n")
    with pytest.raises(ProcessSourceInvalid) as caught:
        services.runs.start(SYSTEM, request(process.id, acme, stage=Stage.DRAFT))
    assert [name for name, _ in caught.value.details] == ["line 2, column 15", "line 3, column 10"]
    assert services.runs.page(SYSTEM, agent_id=acme.id, process_id=process.id).items == []
    published = services.runs.start(SYSTEM, request(process.id, acme, stage=Stage.PUBLISHED))
    assert published.version == 1  # the published version still runs


def test_the_published_stage_runs_the_published_version_and_needs_one(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme)
    with pytest.raises(InvalidInput, match="no published version"):
        services.runs.start(SYSTEM, request(process.id, acme, stage=Stage.PUBLISHED))
    version = services.processes.publish(SYSTEM, process.id)
    edited = services.processes.update_draft(SYSTEM, process.id, source="to go on\n  say 2\n")
    published = services.runs.start(SYSTEM, request(process.id, acme, stage=Stage.PUBLISHED))
    draft = services.runs.start(SYSTEM, request(process.id, acme, stage=Stage.DRAFT))
    assert (published.version, published.sha256) == (1, version.sha256)
    assert (draft.stage, draft.version, draft.sha256) == (Stage.DRAFT, 2, edited.draft_sha256)
    assert "say 2" in services.runs.source_line(SYSTEM, draft, 2)  # type: ignore[operator]
    assert services.runs.source_line(SYSTEM, published, 2) == "  the sum is the amount + the tax"
    assert services.runs.source_line(SYSTEM, published, 3) is None


def test_a_runs_timeout_and_attempts_come_from_its_process_and_the_settings(
    services: Services, acme: Agent
) -> None:
    quick = new_process(services, acme, settings={"timeout_s": 7})
    plain = new_process(services, acme, name="plain")
    assert services.runs.prepare(SYSTEM, request(quick.id, acme)).timeout_s == 7.0
    new = services.runs.prepare(SYSTEM, request(plain.id, acme))
    assert (new.timeout_s, new.max_attempts) == (
        services.settings.run_timeout_s,
        services.settings.max_attempts,
    )


# --- many at once ----------------------------------------------------------------------------------


def test_start_many_reports_each_request_on_its_own(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    draft_only = new_process(services, acme, name="draft only")
    results = services.runs.start_many(
        SYSTEM,
        [
            request(process.id, acme, inputs={"amount": 1}),
            request("0" * 25, acme),
            request(process.id, acme, inputs={"amount": True}),
            request(draft_only.id, acme, stage=Stage.PUBLISHED),
            request(process.id, acme, inputs={"amount": 2}),
        ],
    )
    assert [type(r) for r in results] == [Run, NotFound, InvalidInput, InvalidInput, Run]
    started = [r for r in results if isinstance(r, Run)]
    page = services.runs.page(SYSTEM, agent_id=acme.id, process_id=process.id)
    assert page.items == started[::-1]  # both written, newest first
    assert services.runs.start_many(SYSTEM, []) == []


# --- reading and paging ----------------------------------------------------------------------------


def test_run_pages_are_newest_first_and_their_tokens_are_bound_to_the_filter(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme)
    runs = [services.runs.start(SYSTEM, request(process.id, acme)) for _ in range(7)]
    settle(services, [(r.id, RunState.FAILED, {}) for r in runs[:5]])
    failed = RunFilter(states=[RunState.FAILED, RunState.SUCCEEDED])

    def walk(where: RunFilter) -> list[str]:
        seen, token = [], None
        while True:
            page = services.runs.page(
                SYSTEM,
                agent_id=acme.id,
                process_id=process.id,
                where=where,
                limit=2,
                continuation_token=token,
            )
            seen += [r.id for r in page.items]
            if page.continuation_token is None:
                return seen
            token = page.continuation_token

    assert walk(RunFilter()) == [r.id for r in reversed(runs)]
    assert walk(failed) == [r.id for r in reversed(runs[:5])]
    token = services.runs.page(
        SYSTEM, agent_id=acme.id, process_id=process.id, where=failed, limit=2
    ).continuation_token
    again = RunFilter(states=[RunState.SUCCEEDED, RunState.FAILED])  # the same filter in another order
    second = services.runs.page(
        SYSTEM, agent_id=acme.id, process_id=process.id, where=again, limit=2, continuation_token=token
    )
    assert [r.id for r in second.items] == [runs[2].id, runs[1].id]
    other = new_process(services, acme, name="other")
    for where, process_id in (
        (RunFilter(), process.id),
        (RunFilter(states=[RunState.FAILED]), process.id),
        (RunFilter(states=[RunState.FAILED, RunState.PENDING]), process.id),
        (dataclasses.replace(failed, stage=Stage.DRAFT), process.id),
        (dataclasses.replace(failed, archived=True), process.id),
        (dataclasses.replace(failed, triggers=[Trigger.API]), process.id),
        (failed, other.id),
    ):
        with pytest.raises(InvalidToken):
            services.runs.page(
                SYSTEM, agent_id=acme.id, process_id=process_id, where=where, continuation_token=token
            )


def test_pages_filter_by_stage_trigger_state_and_archive(services: Services, acme: Agent) -> None:
    process = new_process(services, acme, publish=True)
    draft = services.runs.start(SYSTEM, request(process.id, acme))
    published = services.runs.start(SYSTEM, request(process.id, acme, stage=Stage.PUBLISHED))
    manual = services.runs.start(SYSTEM, request(process.id, acme, trigger=Trigger.MANUAL))
    archived = services.runs.start(SYSTEM, request(process.id, acme))
    assert services.runs.set_archived(SYSTEM, [archived.id, "0" * 25, "bad id"], True) == {
        archived.id: "archived",
        "0" * 25: "not_found",
        "bad id": "not_found",
    }
    assert services.runs.set_archived(SYSTEM, [archived.id], True) == {archived.id: "unchanged"}

    def ids(where: RunFilter) -> list[str]:
        page = services.runs.page(SYSTEM, agent_id=acme.id, process_id=process.id, where=where)
        return [r.id for r in page.items]

    assert ids(RunFilter()) == [manual.id, published.id, draft.id]
    assert ids(RunFilter(stage=Stage.PUBLISHED)) == [published.id]
    assert ids(RunFilter(triggers=[Trigger.MANUAL])) == [manual.id]
    assert ids(RunFilter(archived=True)) == [archived.id]
    assert ids(RunFilter(states=[RunState.RUNNING])) == []
    assert services.runs.set_archived(SYSTEM, [archived.id], False) == {archived.id: "unarchived"}
    assert services.runs.count_by_state() == {"Pending": 4}


def test_a_rerun_asks_for_the_same_inputs_files_and_stage(services: Services, acme: Agent) -> None:
    process = new_process(services, acme, publish=True)
    file = services.files.put(SYSTEM, agent_id=acme.id, name="a.csv", content_type="text/csv", data=b"a")
    original = services.runs.start(
        SYSTEM, request(process.id, acme, stage=Stage.PUBLISHED, inputs={"amount": 3}, file_ids=[file.id])
    )
    again = services.runs.start(SYSTEM, services.runs.rerun_request(original))
    assert (again.inputs, again.file_ids, again.stage, again.name) == (
        original.inputs,
        original.file_ids,
        original.stage,
        original.name,
    )
    assert (again.trigger, again.trigger_ref, again.rerun_of) == (Trigger.RERUN, original.id, original.id)


def test_a_pending_run_is_cancelled_at_once_and_an_ended_one_cannot_be(
    services: Services, acme: Agent
) -> None:
    process = new_process(services, acme)
    run = services.runs.start(SYSTEM, request(process.id, acme))
    cancelled = services.runs.cancel(SYSTEM, run.id, reason="not needed")
    assert cancelled.state is RunState.CANCELLED and cancelled.finished_at is not None
    last = services.runs.events(SYSTEM, run.id)[-1]
    assert (last.from_state, last.to_state, last.data) == (
        RunState.PENDING,
        RunState.CANCELLED,
        {"reason": "not needed"},
    )
    with pytest.raises(Conflict):
        services.runs.cancel(SYSTEM, run.id)


# --- another agent's runs ----------------------------------------------------------------------------


def test_an_agents_key_sees_nothing_of_another_agents_runs_or_files(services: Services, acme: Agent) -> None:
    process = new_process(services, acme)
    file = services.files.put(SYSTEM, agent_id=acme.id, name="a.csv", content_type="text/csv", data=b"a")
    run = services.runs.start(SYSTEM, request(process.id, acme, file_ids=[file.id]))
    other = services.agents.create(SYSTEM, "other")
    own_process = new_process(services, other)
    outsider = agent_principal(services, other)
    for read in (
        lambda: services.files.get(outsider, file.id),
        lambda: services.files.open(outsider, file.id),
        lambda: services.files.create_upload(outsider, agent_id=acme.id, name="x", content_type="text/plain"),
        lambda: services.runs.start(outsider, request(own_process.id, other, file_ids=[file.id])),
        lambda: services.runs.get(outsider, run.id),
        lambda: services.runs.events(outsider, run.id),
        lambda: services.runs.children(outsider, run.id),
        lambda: services.runs.files(outsider, run),
        lambda: services.runs.source_line(outsider, run, 1),
        lambda: services.runs.cancel(outsider, run.id),
        lambda: services.runs.page(outsider, agent_id=acme.id, process_id=process.id),
        lambda: services.runs.page(outsider, agent_id=other.id, process_id=process.id),
        lambda: services.runs.start(outsider, request(process.id, acme)),
        lambda: services.runs.start(outsider, request(process.id, other)),  # its own agent, not its process
        lambda: services.runs.start(SYSTEM, request(own_process.id, acme)),  # a process of another agent
    ):
        with pytest.raises(NotFound):
            read()
    assert services.runs.set_archived(outsider, [run.id], True) == {run.id: "not_found"}
    assert services.runs.get(SYSTEM, run.id) == run  # nothing changed
    insider = agent_principal(services, acme)
    assert services.runs.get(insider, run.id) == run
    assert services.runs.start(insider, request(process.id, acme)).agent_id == acme.id
