"""One contract, two backends: every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from plainrun import ids
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.errors import Conflict
from plainrun.store import migrate
from plainrun.store.records import NewRun
from plainrun.store.schema import metadata
from plainrun.store.sql import SqlStore, utcnow

SOURCE = "to greet a customer\n  say 1\n"


def make_runs(
    store: SqlStore, n: int, *, stage: Stage = Stage.DRAFT, process_id: str | None = None
) -> list[str]:
    return [r.id for r in store.create_runs(new_runs(store, n, stage=stage, process_id=process_id))]


def new_runs(
    store: SqlStore, n: int, *, stage: Stage = Stage.DRAFT, process_id: str | None = None
) -> list[NewRun]:
    """``n`` runs of the process (a new one of a new agent if not given), not yet written."""
    if process_id is None:
        agent = store.create_agent("acme")
        process_id = store.create_process(agent_id=agent.id, name="p", source=SOURCE, settings={}).id
    process = store.get_process(process_id)
    assert process is not None
    return [
        NewRun(
            id=ids.new_id(),
            agent_id=process.agent_id,
            process_id=process.id,
            name=f"run {i}",
            stage=stage,
            version=1,
            sha256=process.draft_sha256,
            inputs=[{"name": "i", "value": i}],
            file_ids=[],
            trigger=Trigger.API,
            max_attempts=2,
            timeout_s=60.0,
            created_at=utcnow(),
        )
        for i in range(n)
    ]


def test_migrated_schema_equals_the_declared_one(store: SqlStore) -> None:
    assert migrate.current(store) == migrate.head()
    with store._writer.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, metadata) == []


def test_publish_makes_consecutive_immutable_versions_even_when_concurrent(store: SqlStore) -> None:
    agent = store.create_agent("acme")
    process = store.create_process(agent_id=agent.id, name="p", source=SOURCE, settings={})
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda _: store.publish(process.id).version, range(8)))
    assert sorted(versions) == list(range(1, 9))
    edited = store.update_process(process.id, source=SOURCE + "  say 2\n")
    assert edited.draft_revision == 2
    assert store.get_source(store.get_version(process.id, 1).sha256) == SOURCE  # type: ignore[union-attr]
    assert store.publish(process.id).version == 9
    assert store.get_source(store.get_version(process.id, 9).sha256).endswith("say 2\n")  # type: ignore[union-attr]


def test_runs_list_newest_first_with_keyset_pages_and_filters(store: SqlStore) -> None:
    run_ids = make_runs(store, 25)
    process_id = store.get_run(run_ids[0]).process_id  # type: ignore[union-attr]
    make_runs(store, 5, stage=Stage.PUBLISHED, process_id=process_id)
    seen, before = [], None
    while True:
        page = store.list_runs(process_id, stage=Stage.DRAFT, before_id=before, limit=10)
        seen += [r.id for r in page]
        if len(page) < 10:
            break
        before = page[-1].id
    assert seen == list(reversed(run_ids))
    assert store.set_archived(run_ids[:3], True) == run_ids[:3]
    assert store.set_archived(run_ids[:3], True) == []  # already archived: nothing changes
    default = [r.id for r in store.list_runs(process_id, limit=100)]
    assert len(default) == 27 and not set(run_ids[:3]) & set(default)
    assert {r.id for r in store.list_runs(process_id, archived=True, limit=100)} == set(run_ids[:3])
    assert len(store.list_runs(process_id, stage=Stage.PUBLISHED, limit=100)) == 5


def test_concurrent_claims_never_share_a_run(store: SqlStore) -> None:
    run_ids = make_runs(store, 60)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(worker: str) -> None:
        while batch := store.claim_runs(worker, limit=4, lease_s=30):
            with lock:
                claimed.extend(r.id for r in batch)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(claimed) == sorted(run_ids)
    run = store.get_run(run_ids[0])
    assert run is not None and run.state is RunState.RUNNING and run.attempt == 1 and run.started_at
    assert [e.to_state for e in store.list_run_events(run.id)] == [RunState.PENDING, RunState.RUNNING]


def test_outcomes_are_fenced_by_attempt_and_lost_workers_are_recovered(store: SqlStore) -> None:
    [run_id] = make_runs(store, 1)
    [first] = store.claim_runs("zombie", limit=1, lease_s=30)
    # The zombie stops heart-beating; its lease runs out and recovery hands the run back.
    assert store.recover_expired_leases(now=utcnow() + timedelta(seconds=31)) == [(run_id, RunState.PENDING)]
    [second] = store.claim_runs("healthy", limit=1, lease_s=30)
    assert second.attempt == first.attempt + 1 == 2
    assert not store.finish_run(run_id, attempt=first.attempt, to_state=RunState.FAILED)  # fenced out
    assert store.extend_leases("zombie", [run_id], lease_s=30) == {}
    assert store.extend_leases("healthy", [run_id], lease_s=30) == {run_id: False}
    outputs = [{"name": "total", "value": 42}]
    assert store.finish_run(run_id, attempt=second.attempt, to_state=RunState.SUCCEEDED, outputs=outputs)
    run = store.get_run(run_id)
    assert run is not None and run.state is RunState.SUCCEEDED and run.outputs == outputs and run.finished_at
    kinds = [(e.kind, e.to_state, e.attempt) for e in store.list_run_events(run_id)]
    assert ("attempt_lost", RunState.PENDING, 1) in kinds and kinds[-1] == ("state", RunState.SUCCEEDED, 2)


def test_a_run_fails_after_its_last_attempt_is_lost(store: SqlStore) -> None:
    [run_id] = make_runs(store, 1)  # max_attempts=2
    for _ in range(2):
        store.claim_runs("w", limit=1, lease_s=1)
        store.recover_expired_leases(now=utcnow() + timedelta(seconds=2))
    run = store.get_run(run_id)
    assert run is not None and run.state is RunState.FAILED
    assert run.error is not None and "lost 2 times" in run.error["message"]


def test_cancel_stops_a_pending_run_and_flags_a_running_one_after_commit(store: SqlStore) -> None:
    pending, running = make_runs(store, 2)
    store.claim_runs("w", limit=1, lease_s=30)  # claims the older one
    told: list[str] = []
    store.cancel_listeners.append(told.append)
    assert store.cancel_run(running).state is RunState.CANCELLED  # the newer one was still pending
    flagged = store.cancel_run(pending)
    assert flagged.state is RunState.RUNNING and flagged.cancel_requested and told == [pending]
    assert store.extend_leases("w", [pending], lease_s=30) == {pending: True}
    store.finish_run(pending, attempt=1, to_state=RunState.CANCELLED)
    with pytest.raises(Conflict):
        store.cancel_run(pending)


def test_new_runs_wake_listeners_after_commit(store: SqlStore) -> None:
    woken: list[int] = []
    store.new_run_listeners.append(lambda: woken.append(len(store.claim_runs("w", limit=10, lease_s=5))))
    make_runs(store, 3)
    assert woken == [3]  # the listener ran after the commit, so the runs were already visible


def test_api_keys_are_found_by_hash_until_revoked(store: SqlStore) -> None:
    agent = store.create_agent("acme")
    key = store.create_api_key(agent_id=agent.id, name="k", prefix="prk_abc", key_hash="h" * 64)
    assert store.find_api_key("h" * 64) == key
    assert store.revoke_api_key(key.id) and not store.revoke_api_key(key.id)
    assert store.find_api_key("h" * 64) is None
    assert store.installation_secret() == store.installation_secret()


def test_a_run_handed_back_at_shutdown_keeps_its_attempts(store: SqlStore) -> None:
    [run_id] = make_runs(store, 1)  # max_attempts=2
    store.claim_runs("leaving", limit=1, lease_s=30)
    assert store.hand_back_runs("other", [run_id]) == []
    assert store.hand_back_runs("leaving", [run_id]) == [run_id]
    run = store.get_run(run_id)
    assert run is not None and run.state is RunState.PENDING and run.max_attempts == 3
    [again] = store.claim_runs("next", limit=1, lease_s=30)
    assert again.attempt == 2 and again.max_attempts - again.attempt == 1
