"""Runs: made (the one insert path, through the group commit), read, paged, archived; their events
and children."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import sqlalchemy as sa

from plainrun.domain.clock import utcnow
from plainrun.domain.runs import (
    MAX_CHILDREN,
    NewRun,
    Run,
    RunEvent,
    RunState,
    Stage,
    Trigger,
    created_events,
    event_row,
    pending_row,
)
from plainrun.errors import PlainrunError
from plainrun.store import schema as t
from plainrun.store.database import Database
from plainrun.store.sql._part import Part, param, params_in
from plainrun.store.sql.group import GroupCommit
from plainrun.store.tx import Tx

r, e = t.runs.c, t.run_events.c
INSERT_RUNS = sa.insert(t.runs)
INSERT_EVENTS = sa.insert(t.run_events)
_RUN = sa.select(t.runs).where(r.id == param(r.id))
_RUNS = sa.select(t.runs).where(r.id.in_(params_in(r.id, "ids")))
_EVENTS = sa.select(t.run_events).where(e.run_id == param(e.run_id)).order_by(e.id)
_ARCHIVE = (
    sa.update(t.runs)
    .where(r.id.in_(params_in(r.id, "ids")), r.archived != param(r.archived, "b_archived"))
    .values(archived=param(r.archived, "b_archived"))
    .returning(r.id, r.attempt)
)
_CHILDREN = (
    sa.select(t.runs).where(r.parent_run_id == param(r.parent_run_id)).order_by(r.id).limit(MAX_CHILDREN + 1)
)
_COUNT_CHILDREN = (
    sa.select(sa.func.count()).select_from(t.runs).where(r.parent_run_id == param(r.parent_run_id))
)
_BY_STATE = sa.select(r.state, sa.func.count()).group_by(r.state)


def insert_runs(tx: Tx, new_runs: Sequence[NewRun], event_data: Mapping[str, Any] | None = None) -> None:
    """Inside the caller's transaction: runs (Pending) with their ``created`` events, announced to
    idle workers once the transaction commits. The one way runs are written."""
    rows = [pending_row(n) for n in new_runs]
    insert_rows(tx, rows, created_events(rows, event_data))


def insert_rows(tx: Tx, rows: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]) -> None:
    """:func:`insert_runs` with the rows and events built already (outside the transaction)."""
    tx.execute_many(INSERT_RUNS, rows)
    tx.execute_many(INSERT_EVENTS, events)
    tx.announce_new_runs()


@functools.cache
def _page_statement(
    stage: bool, archived: bool, states: bool, triggers: bool, before: bool
) -> sa.Select[Any]:
    """Runs of a process newest first, with the filters given (one statement per filter shape)."""
    query = sa.select(t.runs).where(r.process_id == param(r.process_id))
    if stage:
        query = query.where(r.stage == param(r.stage))
    if archived:
        query = query.where(r.archived == param(r.archived))
    if states:
        query = query.where(r.state.in_(params_in(r.state, "states")))
    if triggers:
        query = query.where(r.trigger.in_(params_in(r.trigger, "triggers")))
    if before:
        query = query.where(r.id < param(r.id, "before"))
    return query.order_by(r.id.desc()).limit(sa.bindparam("limit", type_=sa.Integer))


class RunsSql(Part):
    def __init__(self, db: Database):
        super().__init__(db)
        self._group: GroupCommit[Sequence[NewRun], list[Run]] = GroupCommit(db, self._write_groups)

    # --- making runs ----------------------------------------------------------------------------

    def create(self, new_runs: Sequence[NewRun]) -> list[Run]:
        """Insert runs (state Pending) with their ``created`` events, in the group commit."""
        return self._group.submit(new_runs)

    def create_each(self, new_runs: Sequence[NewRun]) -> list[Run | PlainrunError]:
        """Insert runs each on its own terms: one's refusal fails that one only (they still share a
        transaction when none is refused)."""
        results = self._group.submit_each([[n] for n in new_runs])
        return [r if isinstance(r, PlainrunError) else r[0] for r in results]

    async def create_async(self, new_runs: Sequence[NewRun], executor: Executor | None = None) -> list[Run]:
        """As :meth:`create`, from an event loop (never waiting on it)."""
        return await self._group.submit_async(new_runs, executor)

    def _write_groups(self, groups: Sequence[Sequence[NewRun]]) -> list[list[Run]]:
        rows = [pending_row(n) for group in groups for n in group]
        events = created_events(rows)  # built before the write lock is taken
        with self.db.write() as tx:
            insert_rows(tx, rows, events)
        runs = iter([Run.from_row(row) for row in rows])
        return [[next(runs) for _ in group] for group in groups]

    # --- reading --------------------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        with self.db.read() as tx:
            row = tx.first(_RUN, {"id": run_id})
        return Run.from_row(row) if row else None

    def get_many(self, run_ids: Iterable[str]) -> dict[str, Run]:
        wanted = list(run_ids)
        if not wanted:
            return {}
        with self.db.read() as tx:
            rows = tx.rows(_RUNS, {"ids": wanted})
        return {row["id"]: Run.from_row(row) for row in rows}

    def page(
        self,
        process_id: str,
        *,
        stage: Stage | None = None,
        archived: bool | None = False,
        states: Sequence[RunState] = (),
        triggers: Sequence[Trigger] = (),
        before_id: str | None = None,
        limit: int = 10,
    ) -> list[Run]:
        """Runs of a process, newest first; ``before_id`` continues after the last row of a page."""
        statement = _page_statement(
            stage is not None, archived is not None, bool(states), bool(triggers), before_id is not None
        )
        params: dict[str, Any] = {
            "process_id": process_id,
            "stage": stage.value if stage is not None else None,
            "archived": archived,
            "states": [s.value for s in states],
            "triggers": [tr.value for tr in triggers],
            "before": before_id,
            "limit": limit,
        }
        with self.db.read() as tx:
            return [Run.from_row(row) for row in tx.rows(statement, params)]

    def events(self, run_id: str) -> list[RunEvent]:
        with self.db.read() as tx:
            return [RunEvent.from_row(row) for row in tx.rows(_EVENTS, {"run_id": run_id})]

    def children(self, run_id: str) -> list[Run]:
        """The child runs a run started, oldest first."""
        with self.db.read() as tx:
            return [Run.from_row(row) for row in tx.rows(_CHILDREN, {"parent_run_id": run_id})]

    def count_children(self, run_id: str) -> int:
        with self.db.read() as tx:
            return int(tx.scalar(_COUNT_CHILDREN, {"parent_run_id": run_id}))

    def count_by_state(self) -> dict[str, int]:
        with self.db.read() as tx:
            return {state: count for state, count in tx.execute(_BY_STATE).rows}

    # --- archiving ------------------------------------------------------------------------------

    def set_archived(self, run_ids: Sequence[str], archived: bool) -> list[str]:
        """Archive or unarchive runs; returns the ids changed. Execution is not touched."""
        if not run_ids:
            return []
        now = utcnow()
        kind = "archived" if archived else "unarchived"
        with self.db.write() as tx:
            changed = tx.execute(_ARCHIVE, {"ids": list(run_ids), "b_archived": archived}).rows
            events = [event_row(kind, rid, attempt=attempt, at=now) for rid, attempt in changed]
            tx.execute_many(INSERT_EVENTS, events)
        return [rid for rid, _ in changed]
