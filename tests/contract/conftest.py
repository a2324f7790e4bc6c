"""The store's contract: every operation on SQLite and on PostgreSQL, through both executors.

``store`` runs each test four times: ``sqlite-fast``, ``sqlite-general``, ``postgres-fast`` and
``postgres-general`` (``fast``: statements compiled onto the driver's cursor, ``plainrun.store.fast``;
``general``: SQLAlchemy's ``Connection``). Each PostgreSQL test has a fresh database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.processes import Process
from plainrun.domain.runs import TRANSITIONS, NewRun, RunQuery, RunState, Stage, Trigger
from plainrun.store import Store, open_store

SOURCE = "to greet a customer\n  say 1\n"


@pytest.fixture(params=["fast", "general"])
def executor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(database_url: str, executor: str) -> Iterator[Store]:
    """A migrated store; after the test, every state change it recorded is checked to be one the
    domain's state machine allows."""
    store = open_store(database_url, fast=executor == "fast")
    store.create_schema()
    yield store
    try:
        moves = recorded_moves(store)
        assert all(to in TRANSITIONS[frm] for frm, to in moves), f"moves the domain does not allow: {moves}"
    finally:
        store.dispose()


def recorded_moves(store: Store) -> set[tuple[RunState, RunState]]:
    """Every (from, to) state change recorded in the store's run events."""
    moves = set()
    for agent in store.agents.all():
        for process in store.processes.page(agent.id, limit=1000):
            for run in store.runs.page(RunQuery(process_id=process.id, archived=None), limit=1000):
                for event in store.runs.events(run.id):
                    if event.from_state is not None and event.to_state is not None:
                        moves.add((event.from_state, event.to_state))
    return moves


def make_process(store: Store, *, settings: dict[str, object] | None = None) -> Process:
    """A new process of a new agent."""
    agent = store.agents.create("acme")
    return store.processes.create(agent_id=agent.id, name="p", source=SOURCE, settings=dict(settings or {}))


def new_runs(
    store: Store, n: int, *, process: Process | None = None, stage: Stage = Stage.DRAFT, **fields: object
) -> list[NewRun]:
    """``n`` runs of the process (a new one if not given), not yet written."""
    process = process or make_process(store)
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
            **fields,  # type: ignore[arg-type]
        )
        for i in range(n)
    ]


def make_runs(store: Store, n: int, **kw: object) -> list[str]:
    return [r.id for r in store.runs.create(new_runs(store, n, **kw))]  # type: ignore[arg-type]
