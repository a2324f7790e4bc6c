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

from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.runs import NewRun
from plainrun.domain.schedules import Fire, Schedule
from plainrun.errors import NotFound
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param
from plainrun.store.sql.runs import insert_runs

sc, fi = t.schedules.c, t.schedule_fires.c
_INSERT = sa.insert(t.schedules)
_SCHEDULE = sa.select(t.schedules).where(sc.id == param(sc.id))
_LIST = (
    sa.select(t.schedules)
    .where(sc.agent_id == param(sc.agent_id))
    .order_by(sc.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_LIST_OF_PROCESS = _LIST.where(sc.process_id == param(sc.process_id))
_UPDATE = sa.update(t.schedules).where(sc.id == param(sc.id, "b_id")).returning(*t.schedules.c)
_DELETE_FIRES = sa.delete(t.schedule_fires).where(fi.schedule_id == param(fi.schedule_id))
_DELETE = sa.delete(t.schedules).where(sc.id == param(sc.id))
_DUE = (
    sa.select(t.schedules)
    .where(sc.next_at <= param(sc.next_at, "now"), sc.enabled.is_(True))
    .order_by(sc.next_at)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_EARLIEST = sa.select(sa.func.min(sc.next_at)).where(sc.enabled.is_(True))
_REVISION = sa.select(sc.revision).where(sc.id == param(sc.id), sc.enabled.is_(True))
_FIRE = {
    "sqlite": sqlite.insert(t.schedule_fires).on_conflict_do_nothing().returning(fi.id),
    "postgresql": postgresql.insert(t.schedule_fires).on_conflict_do_nothing().returning(fi.id),
}
_ADVANCE = (
    sa.update(t.schedules)
    .where(
        sc.id == param(sc.id, "b_id"),
        sc.revision == param(sc.revision, "b_revision"),
        sc.next_at < param(sc.next_at, "b_next"),
    )
    .values(next_at=param(sc.next_at, "b_next"))
)
_FIRES = (
    sa.select(t.schedule_fires)
    .where(fi.schedule_id == param(fi.schedule_id))
    .order_by(fi.slot_at.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def _schedule(row: dict[str, Any]) -> Schedule:
    return Schedule(**{**row, "enabled": bool(row["enabled"])})


class SchedulesSql(Part):
    def create(self, **values: Any) -> Schedule:
        """A new schedule from its columns (``id``, ``revision`` and the timestamps are set here)."""
        now = utcnow()
        row = {**values, "id": ids.new_id(), "revision": 1, "created_at": now, "updated_at": now}
        with self.db.write() as tx:
            tx.run(_INSERT, row)
        return Schedule(**row)

    def get(self, schedule_id: str) -> Schedule | None:
        with self.db.read() as tx:
            row = tx.first(_SCHEDULE, {"id": schedule_id})
        return _schedule(row) if row else None

    def of_agent(self, agent_id: str, *, process_id: str | None = None, limit: int = 100) -> list[Schedule]:
        """An agent's schedules (or one process's), newest first."""
        with self.db.read() as tx:
            if process_id is None:
                rows = tx.rows(_LIST, {"agent_id": agent_id, "limit": limit})
            else:
                rows = tx.rows(
                    _LIST_OF_PROCESS, {"agent_id": agent_id, "process_id": process_id, "limit": limit}
                )
        return [_schedule(r) for r in rows]

    def update(self, schedule_id: str, **values: Any) -> Schedule:
        """Change columns as one new edition (``revision`` + 1): schedulers that read an older one stop."""
        statement = _UPDATE.values(**values, revision=sc.revision + 1, updated_at=utcnow())
        with self.db.write() as tx:
            row = tx.first(statement, {"b_id": schedule_id})
        if row is None:
            raise NotFound("The schedule was not found.")
        return _schedule(row)

    def delete(self, schedule_id: str) -> bool:
        """Delete a schedule and the record of its fires (its runs stay)."""
        with self.db.write() as tx:
            tx.run(_DELETE_FIRES, {"schedule_id": schedule_id})
            return tx.run(_DELETE, {"id": schedule_id}) == 1

    # --- for schedulers --------------------------------------------------------------------------

    def due(self, now: datetime, *, limit: int = 100) -> list[Schedule]:
        """Enabled schedules whose next slot is at or before ``now``, most overdue first."""
        with self.db.read() as tx:
            return [_schedule(r) for r in tx.rows(_DUE, {"now": now, "limit": limit})]

    def earliest_next(self) -> datetime | None:
        """The earliest next slot of any enabled schedule."""
        with self.db.read() as tx:
            value = tx.scalar(_EARLIEST)
        return value if isinstance(value, datetime) else None

    def fire(
        self, schedule: Schedule, slot_at: datetime, *, run: NewRun | None, error: str | None = None
    ) -> Fire | None:
        """Fire one slot: insert its fire row and, if this insert won, its run, in one transaction.

        None when the slot had already fired (another scheduler won it), or the schedule was edited,
        disabled or deleted since it was read. ``run`` None records the slot with ``error`` instead.
        """
        fire = Fire(
            id=ids.new_id(),
            schedule_id=schedule.id,
            slot_at=slot_at,
            run_id=run.id if run is not None else None,
            error=error,
            fired_at=utcnow(),
        )
        with self.db.write() as tx:
            if tx.scalar(_REVISION, {"id": schedule.id}) != schedule.revision:
                return None
            if not tx.rows(_FIRE[tx.dialect], asdict(fire)):
                return None
            if run is not None:
                insert_runs(tx, [run], {"schedule_id": schedule.id})
        return fire

    def advance(self, schedule: Schedule, next_at: datetime) -> bool:
        """Move a schedule's next slot forward to ``next_at``, for the edition that was read only."""
        with self.db.write() as tx:
            params = {"b_id": schedule.id, "b_revision": schedule.revision, "b_next": next_at}
            return tx.run(_ADVANCE, params) == 1

    def fires(self, schedule_id: str, *, limit: int = 100) -> list[Fire]:
        """A schedule's latest fires, newest slot first."""
        with self.db.read() as tx:
            return [Fire(**r) for r in tx.rows(_FIRES, {"schedule_id": schedule_id, "limit": limit})]
