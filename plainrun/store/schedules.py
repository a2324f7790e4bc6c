"""Schedules in the store, and each of their slots fired once.

The database decides what must hold across any number of schedulers: a slot fires when its row in
``schedule_fires`` is inserted, and the unique constraint on (schedule_id, slot_at) lets exactly one
insert win. The winning insert, the run it starts and the run's ``created`` event are written in
**one transaction**, so there is nothing to repair after a crash: either the slot has its fire row
and its run, or neither, and another scheduler fires it.

``next_at`` is the first slot no scheduler has dealt with yet. Schedulers move it forward only past
slots they dealt with, only forward, and only for the edition (``revision``) they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from plainrun import ids
from plainrun.errors import NotFound
from plainrun.store import schema as t
from plainrun.store.records import NewRun
from plainrun.store.sql import SqlStore, insert_pending_runs, pending_row, utcnow


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    agent_id: str
    process_id: str
    name: str
    kind: str
    spec: dict[str, Any]
    timezone: str
    inputs: list[dict[str, Any]]
    catch_up: str
    catch_up_window_s: int | None
    enabled: bool
    revision: int
    next_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Fire:
    """A slot dealt with: the run it started, or why none started."""

    id: str
    schedule_id: str
    slot_at: datetime
    run_id: str | None
    error: str | None
    fired_at: datetime


def _schedule(row: RowMapping) -> Schedule:
    values = {k: row[k] for k in Schedule.__slots__}  # type: ignore[attr-defined]
    values["enabled"] = bool(values["enabled"])
    return Schedule(**values)


def _fire(row: RowMapping) -> Fire:
    return Fire(**{k: row[k] for k in Fire.__slots__})  # type: ignore[attr-defined]


def _get(conn: Connection, schedule_id: str) -> Schedule | None:
    row = conn.execute(sa.select(t.schedules).where(t.schedules.c.id == schedule_id)).mappings().first()
    return _schedule(row) if row else None


def create_schedule(store: SqlStore, **values: Any) -> Schedule:
    """A new schedule from its columns (``id``, ``revision`` and the timestamps are set here)."""
    now = utcnow()
    row = {**values, "id": ids.new_id(), "revision": 1, "created_at": now, "updated_at": now}
    with store.write() as conn:
        conn.execute(sa.insert(t.schedules).values(row))
    return Schedule(**row)


def get_schedule(store: SqlStore, schedule_id: str) -> Schedule | None:
    with store.read() as conn:
        return _get(conn, schedule_id)


def list_schedules(
    store: SqlStore, agent_id: str, *, process_id: str | None = None, limit: int = 100
) -> list[Schedule]:
    """An agent's schedules (or one process's), newest first."""
    query = (
        sa.select(t.schedules)
        .where(t.schedules.c.agent_id == agent_id)
        .order_by(t.schedules.c.id.desc())
        .limit(limit)
    )
    if process_id is not None:
        query = query.where(t.schedules.c.process_id == process_id)
    with store.read() as conn:
        return [_schedule(r) for r in conn.execute(query).mappings().all()]


def update_schedule(store: SqlStore, schedule_id: str, **values: Any) -> Schedule:
    """Change columns as one new edition (``revision`` + 1): schedulers that read an older one stop."""
    with store.write() as conn:
        row = (
            conn.execute(
                sa.update(t.schedules)
                .where(t.schedules.c.id == schedule_id)
                .values(**values, revision=t.schedules.c.revision + 1, updated_at=utcnow())
                .returning(*t.schedules.c)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound("The schedule was not found.")
    return _schedule(row)


def delete_schedule(store: SqlStore, schedule_id: str) -> bool:
    """Delete a schedule and the record of its fires (its runs stay)."""
    with store.write() as conn:
        conn.execute(sa.delete(t.schedule_fires).where(t.schedule_fires.c.schedule_id == schedule_id))
        deleted = conn.execute(sa.delete(t.schedules).where(t.schedules.c.id == schedule_id))
    return deleted.rowcount == 1


# --- for schedulers ----------------------------------------------------------------------------


def due_schedules(store: SqlStore, now: datetime, *, limit: int = 100) -> list[Schedule]:
    """Enabled schedules whose next slot is at or before ``now``, most overdue first."""
    with store.read() as conn:
        rows = (
            conn.execute(
                sa.select(t.schedules)
                .where(t.schedules.c.next_at <= now, t.schedules.c.enabled.is_(True))
                .order_by(t.schedules.c.next_at)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return [_schedule(r) for r in rows]


def earliest_next(store: SqlStore) -> datetime | None:
    """The earliest next slot of any enabled schedule."""
    with store.read() as conn:
        return conn.scalar(  # type: ignore[no-any-return]
            sa.select(sa.func.min(t.schedules.c.next_at)).where(t.schedules.c.enabled.is_(True))
        )


def fire(
    store: SqlStore, schedule: Schedule, slot_at: datetime, *, run: NewRun | None, error: str | None = None
) -> Fire | None:
    """Fire one slot: insert its fire row and, if this insert won, its run, in one transaction.

    None when the slot had already fired (another scheduler won it), or the schedule was edited,
    disabled or deleted since it was read. ``run`` None records the slot with ``error`` instead.
    """
    now = utcnow()
    row = {
        "id": ids.new_id(),
        "schedule_id": schedule.id,
        "slot_at": slot_at,
        "run_id": run.id if run is not None else None,
        "error": error,
        "fired_at": now,
    }
    with store.write() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        current = conn.scalar(
            sa.select(t.schedules.c.revision).where(
                t.schedules.c.id == schedule.id, t.schedules.c.enabled.is_(True)
            )
        )
        if current != schedule.revision:
            return None
        won = conn.execute(
            insert(t.schedule_fires).values(row).on_conflict_do_nothing().returning(t.schedule_fires.c.id)
        ).first()
        if won is None:
            return None
        if run is not None:
            insert_pending_runs(conn, [pending_row(run)], {"schedule_id": schedule.id})
            store.notify_new_runs(conn)
    return Fire(**row)


def advance(store: SqlStore, schedule: Schedule, next_at: datetime) -> bool:
    """Move a schedule's next slot forward to ``next_at``, for the edition that was read only."""
    with store.write() as conn:
        moved = conn.execute(
            sa.update(t.schedules)
            .where(
                t.schedules.c.id == schedule.id,
                t.schedules.c.revision == schedule.revision,
                t.schedules.c.next_at < next_at,
            )
            .values(next_at=next_at)
        )
    return moved.rowcount == 1


def list_fires(store: SqlStore, schedule_id: str, *, limit: int = 100) -> list[Fire]:
    """A schedule's latest fires, newest slot first."""
    with store.read() as conn:
        rows = (
            conn.execute(
                sa.select(t.schedule_fires)
                .where(t.schedule_fires.c.schedule_id == schedule_id)
                .order_by(t.schedule_fires.c.slot_at.desc())
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return [_fire(r) for r in rows]
