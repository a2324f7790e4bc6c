"""Schedules: of published processes only, with every input they need; slot runs prepared as any run."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plainrun.domain.agents import Agent
from plainrun.domain.processes import Process
from plainrun.domain.runs import NewRun, Stage, Trigger
from plainrun.domain.schedules import Schedule, slot_ref
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from plainrun.services.runs import RunRequest
from tests.unit.services.conftest import agent_principal, new_process

T0 = datetime(2024, 6, 4, 8, 0, 0, 500_000, tzinfo=UTC)
START = T0.replace(microsecond=0)
MINUTE = timedelta(minutes=1)
INPUTS = {"amount": 100, "tax": 7}


@pytest.fixture
def acme(services: Services) -> Agent:
    """An agent; the schedules' clock stands still at ``T0``."""
    services.schedules.clock = lambda: T0
    return services.agents.create(SYSTEM, "acme")


@pytest.fixture
def published(services: Services, acme: Agent) -> Process:
    return new_process(services, acme, publish=True, settings={"timeout_s": 9})


def every_ten(services: Services, process: Process, **kw: Any) -> Schedule:
    kw.setdefault("inputs", INPUTS)
    return services.schedules.create(
        SYSTEM,
        agent_id=process.agent_id,
        process_id=process.id,
        name="every ten minutes",
        kind="every",
        every_minutes=10,
        **kw,
    )


def test_a_slots_run_is_prepared_as_any_run_of_the_published_version(
    services: Services, acme: Agent, published: Process
) -> None:
    schedule = services.schedules.create(
        SYSTEM,
        agent_id=acme.id,
        process_id=published.id,
        name="  nightly  ",
        kind="every",
        every_minutes=10,
        inputs={"Amount": 100, " Tax ": 7},  # input names compare as runs compare them
    )
    assert (schedule.name, schedule.next_at) == ("nightly", START + 10 * MINUTE)
    services.processes.update_draft(SYSTEM, published.id, source="to go\n  say the greeting\n")
    [fire] = services.schedules.fire_due(START + 10 * MINUTE)
    assert fire.slot_at == START + 10 * MINUTE and fire.error is None and fire.run_id is not None
    run = services.runs.get(SYSTEM, fire.run_id)
    prepared = services.runs.prepare(
        SYSTEM,
        RunRequest(
            agent_id=acme.id,
            process_id=published.id,
            stage=Stage.PUBLISHED,
            name="nightly",
            inputs={"Amount": 100, " Tax ": 7},
            trigger=Trigger.SCHEDULE,
        ),
    )
    # process_seen is how a run was prepared, not one of its fields
    same = set(NewRun.__dataclass_fields__) - {"id", "created_at", "trigger_ref", "process_seen"}
    assert {f: getattr(run, f) for f in same} == {f: getattr(prepared, f) for f in same}
    assert (run.version, run.timeout_s, run.trigger_ref) == (1, 9.0, slot_ref(schedule.id, fire.slot_at))
    assert services.schedules.get(SYSTEM, schedule.id).next_at == START + 20 * MINUTE
    assert services.schedules.fire_due(START + 10 * MINUTE) == []  # nothing fires twice
    assert services.schedules.fires(SYSTEM, schedule.id) == [fire]

    services.processes.publish(SYSTEM, published.id)
    services.schedules.update(SYSTEM, schedule.id, inputs={"greeting": "hi"})
    [later] = services.schedules.fire_due(START + 30 * MINUTE)
    assert services.runs.get(SYSTEM, later.run_id or "").version == 2  # the version published now


def test_only_a_published_process_is_scheduled(services: Services, acme: Agent) -> None:
    draft_only = new_process(services, acme)
    with pytest.raises(InvalidInput, match="published") as caught:
        every_ten(services, draft_only)
    assert caught.value.details == [("process_id", draft_only.id)]
    with pytest.raises(NotFound):
        every_ten(services, dataclasses.replace(draft_only, id="not an id"))
    assert services.schedules.of_agent(SYSTEM, agent_id=acme.id) == []


def test_a_schedule_gives_every_input_the_published_version_needs_not_the_drafts(
    services: Services, published: Process
) -> None:
    services.processes.update_draft(SYSTEM, published.id, source="to go\n  say the greeting\n")
    with pytest.raises(InvalidInput, match="every input") as caught:
        every_ten(services, published, inputs={"amount": 1})
    assert caught.value.details == [("input", "tax")]
    with pytest.raises(InvalidInput, match="text or a number"):
        every_ten(services, published, inputs={"amount": 1, "tax": None})
    schedule = every_ten(services, published)
    with pytest.raises(InvalidInput, match="every input"):
        services.schedules.update(SYSTEM, schedule.id, inputs={"tax": 1})


def test_a_schedule_can_be_disabled_after_its_process_comes_to_need_another_input(
    services: Services, published: Process
) -> None:
    schedule = every_ten(services, published)
    services.processes.update_draft(SYSTEM, published.id, source="to go\n  say the greeting\n")
    services.processes.publish(SYSTEM, published.id)
    disabled = services.schedules.set_enabled(SYSTEM, schedule.id, False)
    assert disabled.next_at is None
    assert services.schedules.fire_due(START + timedelta(hours=1)) == []


def test_a_slot_whose_run_is_refused_is_recorded_with_why_and_the_schedule_moves_on(
    services: Services, published: Process
) -> None:
    schedule = every_ten(services, published)
    services.store.schedules.update(  # as an older version may have kept them
        schedule.id,
        inputs=[{"name": "amount", "value": True}, {"name": "tax", "value": 1}],
    )
    [fire] = services.schedules.fire_due(START + 10 * MINUTE)
    assert fire.run_id is None and "text or a number" in (fire.error or "")
    assert services.runs.page(SYSTEM, agent_id=published.agent_id, process_id=published.id).items == []
    assert services.schedules.get(SYSTEM, schedule.id).next_at == START + 20 * MINUTE


def test_changing_when_a_schedule_fires_starts_it_afresh_from_now(
    services: Services, published: Process
) -> None:
    schedule = every_ten(services, published)
    later = T0 + timedelta(hours=5)
    services.schedules.clock = lambda: later
    renamed = services.schedules.update(SYSTEM, schedule.id, name="renamed")
    assert (renamed.name, renamed.next_at) == ("renamed", START + 10 * MINUTE)  # still due from before
    cron = services.schedules.update(SYSTEM, schedule.id, kind="cron", cron="*/15 * * * *")
    assert (cron.kind, cron.spec, cron.next_at) == (
        "cron",
        {"cron": "*/15 * * * *"},
        START + 5 * 60 * MINUTE + 15 * MINUTE,
    )
    with pytest.raises(InvalidInput, match="needs at"):  # another kind: its fields are given anew
        services.schedules.update(SYSTEM, schedule.id, kind="daily")
    daily = services.schedules.update(SYSTEM, schedule.id, kind="daily", at="02:30", timezone="Europe/Berlin")
    assert daily.spec == {"at": "02:30"} and daily.next_at == datetime(2024, 6, 5, 0, 30, tzinfo=UTC)
    moved = services.schedules.update(SYSTEM, schedule.id, at="03:15")
    assert moved.next_at == datetime(2024, 6, 5, 1, 15, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="Unknown") as caught:
        services.schedules.update(SYSTEM, schedule.id, colour="red", process_id="x")
    assert caught.value.details == [("field", "colour"), ("field", "process_id")]
    policy = services.schedules.update(SYSTEM, schedule.id, catch_up="all_within")
    assert (policy.catch_up, policy.catch_up_window_s, policy.next_at) == ("all_within", 86400, moved.next_at)


def test_a_disabled_schedule_has_no_next_slot_and_enabling_it_starts_from_now(
    services: Services, published: Process
) -> None:
    schedule = every_ten(services, published, enabled=False)
    assert schedule.next_at is None and services.schedules.next_fire_times(schedule) == []
    assert services.schedules.earliest_next() is None
    services.schedules.clock = lambda: T0 + timedelta(hours=2)
    enabled = services.schedules.set_enabled(SYSTEM, schedule.id, True)
    assert enabled.next_at == START + timedelta(hours=2, minutes=10) == services.schedules.earliest_next()
    assert services.schedules.next_fire_times(enabled, 3) == [
        START + timedelta(hours=2, minutes=m) for m in (10, 20, 30)
    ]
    services.schedules.clock = lambda: T0 + timedelta(hours=3)  # overdue: the due slot comes first
    assert services.schedules.next_fire_times(enabled, 2) == [enabled.next_at, enabled.next_at + 10 * MINUTE]
    disabled = services.schedules.set_enabled(SYSTEM, schedule.id, False)
    assert disabled.next_at is None and services.schedules.fire_due(T0 + timedelta(days=1)) == []


def test_each_change_wakes_the_listeners(services: Services, published: Process) -> None:
    woken: list[int] = []
    services.schedules.listeners.append(lambda: woken.append(1))
    schedule = every_ten(services, published)
    services.schedules.update(SYSTEM, schedule.id, name="n")
    services.schedules.delete(SYSTEM, schedule.id)
    assert len(woken) == 3
    with pytest.raises(NotFound):
        services.schedules.get(SYSTEM, schedule.id)


def test_an_agents_key_sees_nothing_of_another_agents_schedules(
    services: Services, acme: Agent, published: Process
) -> None:
    schedule = every_ten(services, published)
    other = services.agents.create(SYSTEM, "other")
    outsider = agent_principal(services, other)
    for act in (
        lambda: services.schedules.get(outsider, schedule.id),
        lambda: services.schedules.update(outsider, schedule.id, enabled=False),
        lambda: services.schedules.set_enabled(outsider, schedule.id, False),
        lambda: services.schedules.delete(outsider, schedule.id),
        lambda: services.schedules.fires(outsider, schedule.id),
        lambda: services.schedules.of_agent(outsider, agent_id=acme.id),
        lambda: services.schedules.of_agent(outsider, agent_id=other.id, process_id=published.id),
        lambda: services.schedules.create(
            outsider,
            agent_id=acme.id,
            process_id=published.id,
            name="n",
            kind="hourly",
            inputs=INPUTS,
        ),
        lambda: services.schedules.create(
            outsider,
            agent_id=other.id,
            process_id=published.id,
            name="n",
            kind="hourly",
            inputs=INPUTS,
        ),
    ):
        with pytest.raises(NotFound):
            act()
    assert services.schedules.get(SYSTEM, schedule.id).enabled
    insider = agent_principal(services, acme)
    assert services.schedules.of_agent(insider, agent_id=acme.id, process_id=published.id) == [schedule]
