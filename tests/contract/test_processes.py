"""Processes: sources, the draft, published versions, what a run starts from, pages, names."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from plainrun.domain.runs import Stage
from plainrun.errors import Conflict, NotFound
from plainrun.store import Store
from tests.contract.conftest import SOURCE, make_process


def test_publish_makes_consecutive_immutable_versions_even_when_concurrent(store: Store) -> None:
    process = make_process(store)

    def edit_and_publish(n: int) -> tuple[int, bool]:
        store.processes.update(process.id, source=SOURCE + f"  say {n}\n")
        published = store.processes.publish(process.id)
        return published.version, published.created

    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(edit_and_publish, range(8)))
    created = sorted(v for v, new in made if new)
    assert created == list(range(1, len(created) + 1)) and len(created) >= 1
    latest = created[-1]
    # The same draft again makes no version: the latest comes back, not created.
    again = store.processes.publish(process.id)
    assert (again.version, again.created) == (latest, False)
    edited = store.processes.update(process.id, source=SOURCE)
    assert store.processes.get(process.id) == edited
    assert store.processes.publish(process.id).version == latest + 1
    assert [v.version for v in store.processes.versions(process.id)] == list(range(latest + 1, 0, -1))
    newest = store.processes.version(process.id, latest + 1)
    assert newest is not None and store.processes.source(newest.sha256) == SOURCE
    assert store.processes.version(process.id, latest + 2) is None
    with pytest.raises(NotFound):
        store.processes.publish("nope")


def test_what_a_run_of_each_stage_starts_from(store: Store) -> None:
    process = make_process(store, settings={"timeout_s": 5})
    found = store.processes.for_run(process.id, Stage.PUBLISHED)
    assert found is not None and found[0] == process and found[1] is None  # not published yet
    store.processes.publish(process.id)
    store.processes.update(process.id, source=SOURCE + "  say 3\n", settings={"max_concurrency": 2})
    draft = store.processes.for_run(process.id, Stage.DRAFT)
    published = store.processes.for_run(process.id, Stage.PUBLISHED)
    assert draft is not None and published is not None and draft[1] is not None and published[1] is not None
    assert (draft[1].version, published[1].version) == (2, 1)
    assert draft[1].sha256 != published[1].sha256 == store.processes.versions(process.id)[0].sha256
    assert draft[0].max_concurrent_runs == 2 and draft[0].settings == {"timeout_s": 5, "max_concurrency": 2}
    assert store.processes.for_run("nope", Stage.DRAFT) is None


def test_a_child_run_finds_a_process_by_its_name_as_the_language_compares_names(store: Store) -> None:
    agent = store.agents.create("acme")
    draft_only = store.processes.create(
        agent_id=agent.id, name="Check the Vendor", source=SOURCE, settings={}
    )
    found = store.processes.named(agent.id, "/to check the vendor")
    assert found is not None and (found.process_id, found.stage, found.version) == (draft_only.id, "Draft", 1)
    store.processes.publish(draft_only.id)
    found = store.processes.named(agent.id, "check the vendor")
    assert found is not None and (found.stage, found.version) == ("Published", 1)
    assert store.processes.named(agent.id, "pay the vendor") is None
    assert store.processes.named(store.agents.create("other").id, "check the vendor") is None


def test_names_are_unique_per_agent_as_a_child_run_names_them(store: Store) -> None:
    agent = store.agents.create("acme")
    first = store.processes.create(agent_id=agent.id, name="Check the vendor", source=SOURCE, settings={})
    with pytest.raises(Conflict):
        store.processes.create(agent_id=agent.id, name="to  check the Vendor", source=SOURCE, settings={})
    other = store.processes.create(agent_id=agent.id, name="pay the vendor", source=SOURCE, settings={})
    with pytest.raises(Conflict):
        store.processes.update(other.id, name="check the vendor")
    assert store.processes.update(first.id, name="check the vendor").name == "check the vendor"
    elsewhere = store.agents.create("globex")
    store.processes.create(agent_id=elsewhere.id, name="check the vendor", source=SOURCE, settings={})
    archived = store.processes.update(other.id, archived=True)
    assert archived.archived and [p.id for p in store.processes.page(agent.id)] == [first.id]
    assert [p.id for p in store.processes.page(agent.id, archived=True)] == [other.id]


def test_processes_page_newest_first(store: Store) -> None:
    agent = store.agents.create("acme")
    made = [
        store.processes.create(agent_id=agent.id, name=f"p{i}", source=SOURCE, settings={}) for i in range(5)
    ]
    first = store.processes.page(agent.id, limit=3)
    rest = store.processes.page(agent.id, before_id=first[-1].id, limit=3)
    assert [p.id for p in first + rest] == [p.id for p in reversed(made)]
    assert store.processes.page(store.agents.create("empty").id) == []
