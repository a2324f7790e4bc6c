"""Child runs in the store: a parent parked while its children run, and woken when they have ended.

A run that reaches ``wait for the runs`` (or ``run to …``) before its children ended is written
Waiting: it holds no lease and no worker slot. Its execution state names the runs it waits for
(``exec_state["waiting_for"]``). Whatever ends a child (an outcome, a cancel, a lost worker's last
attempt) calls :func:`wake_parents` in the same transaction; a parent whose awaited children have
all ended becomes Pending again and resumes by replay. The parent's row is locked before its
children are counted, so a child that ends while its parent is being parked cannot be missed:
whichever transaction commits second sees the other's write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from plainrun.domain.runs import FINAL_STATES, RunState
from plainrun.store import schema as t
from plainrun.store.records import Run
from plainrun.store.sql import SqlStore, _run, utcnow

#: A run starts at most this many child runs in all.
MAX_CHILDREN = 50

_FINAL = [s.value for s in FINAL_STATES]


def waiting_for(exec_state: dict[str, Any] | None) -> list[str]:
    ids = (exec_state or {}).get("waiting_for") or []
    return [str(i) for i in ids]


def _unfinished(conn: Connection, run_ids: Sequence[str]) -> int:
    if not run_ids:
        return 0
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(t.runs)
            .where(t.runs.c.id.in_(list(run_ids)), t.runs.c.state.not_in(_FINAL))
        ).scalar_one()
    )


def wake_parents(store: SqlStore, conn: Connection, parent_ids: Iterable[str]) -> list[str]:
    """Inside the caller's transaction: parents whose awaited children all ended become Pending."""
    wanted = sorted({p for p in parent_ids if p})
    if not wanted:
        return []
    # Locked whatever their state (a filter on Waiting would skip a parent that another transaction
    # is parking right now, instead of waiting for it to commit), then checked.
    rows = (
        conn.execute(
            store._lock_for_update(
                sa.select(t.runs.c.id, t.runs.c.state, t.runs.c.attempt, t.runs.c.exec_state)
                .where(t.runs.c.id.in_(wanted))
                .order_by(t.runs.c.id)
            )
        )
        .mappings()
        .all()
    )
    woken = [
        r
        for r in rows
        if r["state"] == RunState.WAITING.value and _unfinished(conn, waiting_for(r["exec_state"])) == 0
    ]
    if not woken:
        return []
    now = utcnow()
    for r in woken:
        conn.execute(
            sa.update(t.runs)
            .where(t.runs.c.id == r["id"], t.runs.c.state == RunState.WAITING.value)
            # Waiting is not a lost attempt: like a guidance pause, it is not counted against the run.
            .values(state=RunState.PENDING.value, max_attempts=t.runs.c.max_attempts + 1)
        )
    conn.execute(
        sa.insert(t.run_events),
        [
            {
                "run_id": r["id"],
                "at": now,
                "kind": "state",
                "from_state": RunState.WAITING.value,
                "to_state": RunState.PENDING.value,
                "attempt": r["attempt"],
                "data": {"reason": "child runs ended", "runs": waiting_for(r["exec_state"])},
            }
            for r in woken
        ],
    )
    store.notify_new_runs(conn)
    return [r["id"] for r in woken]


def children(store: SqlStore, run_id: str) -> list[Run]:
    """The child runs a run started, oldest first."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(t.runs)
            .where(t.runs.c.parent_run_id == run_id)
            .order_by(t.runs.c.id)
            .limit(MAX_CHILDREN + 1)
        ).mappings()
        return [_run(r) for r in rows]


def count_children(store: SqlStore, run_id: str) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(t.runs).where(t.runs.c.parent_run_id == run_id)
            ).scalar_one()
        )


def cancel_descendants(store: SqlStore, conn: Connection, run_id: str, *, reason: str) -> None:
    """Inside the caller's transaction: cancel every unfinished run below ``run_id``.

    Pending, waiting and paused children end at once; running ones are flagged for their worker.
    """
    now = utcnow()
    frontier = [run_id]
    while frontier:
        # Locked, so that the state each is cancelled from is still its state (a claim skips them).
        rows = (
            conn.execute(
                store._lock_for_update(
                    sa.select(t.runs.c.id, t.runs.c.state, t.runs.c.attempt).where(
                        t.runs.c.parent_run_id.in_(frontier), t.runs.c.state.not_in(_FINAL)
                    )
                )
            )
            .mappings()
            .all()
        )
        frontier = [r["id"] for r in rows]
        for r in rows:
            store.cancel_in(conn, r["id"], RunState(r["state"]), r["attempt"], reason=reason, now=now)


def find_process(store: SqlStore, agent_id: str, name: str) -> dict[str, Any] | None:
    """The process of ``agent_id`` a child run of ``name`` runs: its published version, else its draft.

    Names compare as the language compares phrases (``/to check the vendor`` finds "check the vendor").
    """
    from plainrun.language.names import process_key

    wanted = process_key(name)
    query = (
        sa.select(
            t.processes.c.id,
            t.processes.c.name,
            t.processes.c.settings,
            t.processes.c.draft_sha256,
            t.processes.c.draft_revision,
            t.processes.c.published_version,
            t.process_versions.c.sha256.label("published_sha256"),
        )
        .outerjoin(
            t.process_versions,
            sa.and_(
                t.process_versions.c.process_id == t.processes.c.id,
                t.process_versions.c.version == t.processes.c.published_version,
            ),
        )
        .where(t.processes.c.agent_id == agent_id)
        .order_by(t.processes.c.id)
    )
    with store.read() as conn:
        for row in conn.execute(query).mappings():
            if process_key(row["name"]) != wanted:
                continue
            published = row["published_version"] is not None
            return {
                "process_id": row["id"],
                "name": row["name"],
                "settings": row["settings"] or {},
                "stage": "Published" if published else "Draft",
                "version": row["published_version"] if published else row["draft_revision"],
                "sha256": row["published_sha256"] if published else row["draft_sha256"],
            }
    return None
