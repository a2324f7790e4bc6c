"""Files' records and each agent's box."""

from __future__ import annotations

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.files import FileRecord
from plainrun.store import Store


def test_a_file_is_recorded_then_marked_ready(store: Store) -> None:
    agent = store.agents.create("acme")
    record = FileRecord(ids.new_id(), agent.id, "invoice.pdf", "application/pdf", None, None, False, utcnow())
    assert store.files.create(record) == record == store.files.get(record.id)
    ready = store.files.mark_ready(record.id, size=12, sha256="a" * 64)
    assert (ready.ready, ready.size, ready.sha256) == (True, 12, "a" * 64)
    assert store.files.get_many([record.id, "nope"]) == {record.id: ready} and store.files.get_many([]) == {}


def test_an_agents_bytes_of_files_are_summed_and_a_record_can_be_forgotten(store: Store) -> None:
    acme, globex = store.agents.create("acme"), store.agents.create("globex")
    assert store.files.agent_bytes(acme.id) == 0
    made = []
    for agent, size in ((acme, 10), (acme, 2**40), (globex, 7), (acme, None)):
        record = FileRecord(ids.new_id(), agent.id, "f", "text/plain", None, None, False, utcnow())
        store.files.create(record)
        if size is not None:
            store.files.mark_ready(record.id, size=size, sha256="a" * 64)
        made.append(record)
    assert (store.files.agent_bytes(acme.id), store.files.agent_bytes(globex.id)) == (10 + 2**40, 7)
    store.files.delete(made[-1].id)  # one whose contents never arrived
    assert store.files.get(made[-1].id) is None and store.files.agent_bytes(acme.id) == 10 + 2**40


def test_the_box_keeps_json_values_per_agent(store: Store) -> None:
    acme, globex = store.agents.create("acme"), store.agents.create("globex")
    value = {"total": 3, "lines": ["a", "b"], "ok": True}
    store.box.set(acme.id, "k", value)
    assert store.box.get(acme.id, "k") == value and store.box.get(globex.id, "k") is None
    store.box.set(acme.id, "k", [1, 2])
    assert store.box.get(acme.id, "k") == [1, 2]
    store.box.delete(acme.id, "k")
    assert store.box.get(acme.id, "k") is None
