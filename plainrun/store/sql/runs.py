"""Runs: made (the one insert path, through the group commit), read, paged, archived; their events
and children."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.runs import (
    MAX_CHILDREN,
    NewRun,
    Run,
    RunEvent,
    RunQuery,
    Trigger,
    created_events,
    event_row,
    name_key,
    pending_row,
)
from plainrun.errors import PlainrunError, ProcessChanged
from plainrun.store import schema as t
from plainrun.store.database import Database
from plainrun.store.sql._part import Part, param, params_in
from plainrun.store.sql.group import GroupCommit
from plainrun.store.sql.processes import changed_since
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


def _filters(query: sa.Select[Any], shape: frozenset[str]) -> sa.Select[Any]:
    """The ``WHERE`` of a list of runs, for the filters in ``shape`` (their values are parameters)."""
    if "process" in shape:
        query = query.where(r.process_id == param(r.process_id))
    if "agent" in shape:
        query = query.where(r.agent_id == param(r.agent_id))
    if "stage" in shape:
        query = query.where(r.stage == param(r.stage))
    if "archived" in shape:
        query = query.where(r.archived == param(r.archived))
    if "states" in shape:
        query = query.where(r.state.in_(params_in(r.state, "states")))
    if "triggers" in shape:
        query = query.where(r.trigger.in_(params_in(r.trigger, "triggers")))
    if "no_tests" in shape:
        query = query.where(r.trigger != Trigger.TEST.value)
    if "name" in shape:
        query = query.where(_NameHas())
    # A date range is a range of ids: an id begins with the time it was made.
    if "since" in shape:
        query = query.where(r.id >= param(r.id, "since"))
    if "until" in shape:
        query = query.where(r.id < param(r.id, "until"))
    if "before" in shape:
        query = query.where(r.id < param(r.id, "before"))
    return query


@functools.cache
def _page_statement(shape: frozenset[str]) -> sa.Select[Any]:
    """Runs newest first, with the filters given (one statement per filter shape)."""
    query = _filters(sa.select(t.runs), shape)
    return query.order_by(r.id.desc()).limit(sa.bindparam("limit", type_=sa.Integer))


@functools.cache
def _count_statement(shape: frozenset[str]) -> sa.Select[Any]:
    """How many runs match, counted up to ``most`` (a count costs what the runs it reads cost)."""
    matching = _filters(sa.select(r.id), shape).limit(sa.bindparam("most", type_=sa.Integer)).subquery()
    return sa.select(sa.func.count()).select_from(matching)


def _list_params(where: RunQuery, before_id: str | None) -> tuple[frozenset[str], dict[str, Any]]:
    """The shape of a list's statement and its parameters."""
    folded = name_key(where.name) if where.name else None
    values: dict[str, Any] = {
        "process": where.process_id,
        "agent": where.agent_id if where.process_id is None else None,
        "stage": where.stage.value if where.stage is not None else None,
        "archived": where.archived,
        "states": [s.value for s in where.states] or None,
        "triggers": [tr.value for tr in where.triggers] or None,
        "no_tests": True if not where.tests else None,
        "name": folded or None,
        "since": ids.floor(int(where.since.timestamp() * 1000)) if where.since else None,
        "until": ids.floor(int(where.until.timestamp() * 1000)) if where.until else None,
        "before": before_id,
    }
    shape = frozenset(k for k, v in values.items() if v is not None)
    names = {"process": "process_id", "agent": "agent_id"}
    params = {names.get(k, k): v for k, v in values.items() if v is not None and k != "no_tests"}
    if folded:
        params["name_like"] = f"%{_like(folded)}%"
    return shape, params


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _NameHas(sa.sql.expression.ColumnElement[Any]):
    """Whether a run's ``name_key`` holds the folded text ``:name``: on PostgreSQL through the
    trigram index ``ix_runs_name_trgm`` (``:name_like``, the text as a LIKE pattern), on SQLite
    read from ``ix_runs_agent_list`` newest first, the name being its last column. Either way a
    plain substring test."""

    # Not Boolean: SQLite would be given "(…) = 1", which hides the index from its planner.
    type = sa.types.NullType()
    inherit_cache = True


def _bind(compiler: Any, name: str, **kw: Any) -> str:
    return str(compiler.process(sa.bindparam(name, type_=sa.String), **kw))


@compiles(_NameHas, "sqlite")
def _name_sqlite(element: _NameHas, compiler: Any, **kw: Any) -> str:
    return f"instr(runs.name_key, {_bind(compiler, 'name', **kw)}) > 0"


@compiles(_NameHas)
def _name_postgresql(element: _NameHas, compiler: Any, **kw: Any) -> str:
    return f"runs.name_key LIKE {_bind(compiler, 'name_like', **kw)} ESCAPE '\\'"


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
        seen = {n.process_id: n.process_seen for group in groups for n in group if n.process_seen}
        with self.db.write() as tx:
            insert_rows(tx, rows, events)
            if seen and (changed := changed_since(tx, seen)):
                # Rolled back; the group commit writes each caller's runs alone, and refuses only
                # those prepared from a process that changed since (they are prepared again).
                raise ProcessChanged(
                    "The process changed while the run was being started.",
                    details=[("process_id", pid) for pid in changed],
                )
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

    def page(self, where: RunQuery, *, before_id: str | None = None, limit: int = 10) -> list[Run]:
        """Runs of a process or of an agent, newest first; ``before_id`` continues after the last
        row of a page."""
        shape, params = _list_params(where, before_id)
        with self.db.read() as tx:
            return [Run.from_row(row) for row in tx.rows(_page_statement(shape), {**params, "limit": limit})]

    def count(self, where: RunQuery, *, most: int = 1_000_000_000) -> int:
        """How many runs a list has in all its pages, counting no further than ``most``."""
        shape, params = _list_params(where, None)
        with self.db.read() as tx:
            return int(tx.scalar(_count_statement(shape), {**params, "most": most}))

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
