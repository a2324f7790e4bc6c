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


def test_the_box_keeps_json_values_per_agent(store: Store) -> None:
    acme, globex = store.agents.create("acme"), store.agents.create("globex")
    value = {"total": 3, "lines": ["a", "b"], "ok": True}
    store.box.set(acme.id, "k", value)
    assert store.box.get(acme.id, "k") == value and store.box.get(globex.id, "k") is None
    store.box.set(acme.id, "k", [1, 2])
    assert store.box.get(acme.id, "k") == [1, 2]
    store.box.delete(acme.id, "k")
    assert store.box.get(acme.id, "k") is None
