"""Execution: the one home of the claim, the heartbeat, the hand-back, the fenced finish, cancel,
recovery of lost workers, and child runs parked and woken.

Every state change here is one of the domain's moves (``plainrun.domain.runs``): its ``WHERE``
names the move's source states and its event is the move's, so a run moves only the way the table
allows, and of two movers only one wins.

Child runs: a run that reaches ``wait for the runs`` (or ``run to …``) before its children ended is
written Waiting: it holds no lease and no worker slot, and its execution state names the runs it
waits for (``exec_state["waiting_for"]``). Whatever ends a child (an outcome, a cancel, a lost
worker's last attempt, guidance saying stop) wakes its parent in the same transaction
(:func:`wake_parents`); a parent whose awaited children have all ended becomes Pending again and
resumes by replay. The parent's row is locked before its children are counted, so a child that ends
while its parent is being parked cannot be missed: whichever transaction commits second sees the
other's write.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from plainrun.domain.clock import utcnow
from plainrun.domain.runs import (
    CANCEL,
    CLAIM,
    FINAL_STATES,
    FINISH,
    HAND_BACK,
    RECOVER,
    WAKE,
    Move,
    Outcome,
    Run,
    RunState,
    log_events,
)
from plainrun.errors import Conflict, NotFound
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in
from plainrun.store.sql.runs import INSERT_EVENTS, insert_runs
from plainrun.store.sql.webhooks import HEARD, enqueue
from plainrun.store.tx import Tx

r, p = t.runs.c, t.processes.c


def _literals(states: Iterable[RunState]) -> list[sa.ColumnElement[str]]:
    # Written into the SQL text, not bound: with a parameter the planner cannot tell that a
    # partial index (``ix_runs_pending``: state = 'Pending', …) covers the query, and scans instead.
    return [sa.literal_column(f"'{s.value}'", r.state.type) for s in sorted(states)]


def state_is(*states: RunState, column: sa.ColumnElement[str] = r.state) -> sa.ColumnElement[bool]:
    """``runs.state`` (or ``column``, the state of an alias of ``runs``) is one of ``states``."""
    literals = _literals(states)
    return column == literals[0] if len(literals) == 1 else column.in_(literals)


def unfinished() -> sa.ColumnElement[bool]:
    """``runs.state`` is not a final state."""
    return r.state.not_in(_literals(FINAL_STATES))


def record_moves(tx: Tx, events: Sequence[dict[str, Any]], heard: Collection[str] | None = None) -> None:
    """Inside the caller's transaction: the events of moves (and the log lines written with them),
    and the outbox's deliveries of those that webhook subscribers hear of (a run ended or waiting
    for guidance; ``heard``, see ``enqueue``), so that a change and its deliveries commit together
    or not at all. The one way a move's events are written."""
    tx.execute_many(INSERT_EVENTS, events)
    enqueue(tx, events, heard)


def in_sources(move: Move) -> sa.ColumnElement[bool]:
    """The ``WHERE`` of a move: the run is in one of its source states."""
    return state_is(*move.sources)


def moved_to(move: Move, state: RunState) -> dict[str, Any]:
    """The ``SET`` of a move to ``state``, with one more attempt allowed where the move refunds one."""
    assert state in move.targets
    values: dict[str, Any] = {"state": state.value}
    if move.refund:
        values["max_attempts"] = r.max_attempts + 1
    return values


# --- the claim --------------------------------------------------------------------------------

_BATCH = sa.bindparam("limit", type_=sa.Integer)
_PENDING = (
    sa.select(r.id).where(in_sources(CLAIM)).order_by(r.id).limit(_BATCH).with_for_update(skip_locked=True)
)
_queued = t.runs.alias("queued")
#: Processes with a concurrency limit that have pending runs (both through partial indexes).
_LIMITED = (
    sa.select(p.id, p.max_concurrent_runs)
    .where(p.max_concurrent_runs.is_not(None))
    .where(sa.exists().where(_queued.c.process_id == p.id, state_is(*CLAIM.sources, column=_queued.c.state)))
    .order_by(p.id)
)
#: The oldest pending runs, when no process with a concurrency limit has pending runs (else none):
#: the look for limited processes and the claim in one statement, on one snapshot.
_PENDING_UNLIMITED = _PENDING.where(~sa.exists(_LIMITED.with_only_columns(p.id).order_by(None)))
# FOR NO KEY UPDATE: it does not block inserting runs (their foreign key takes KEY SHARE). Another
# worker claiming for a process right now holds its row: that process is skipped this time.
_LOCK_LIMITED = (
    sa.select(p.id)
    .where(p.id.in_(params_in(p.id, "ids")))
    .order_by(p.id)
    .with_for_update(skip_locked=True, key_share=True)
)
_RUNNING_OF = (
    sa.select(r.process_id, sa.func.count())
    .where(state_is(RunState.RUNNING), r.process_id.in_(params_in(r.process_id, "ids")))
    .group_by(r.process_id)
)
_PENDING_OF = _PENDING.where(r.process_id == param(r.process_id))
_PENDING_NOT_OF = _PENDING.where(r.process_id.not_in(params_in(r.process_id, "ids")))


def _claim_statement(picking: sa.Select[Any]) -> sa.Update:
    """Pending runs picked by ``picking`` to Running under a worker's lease, a new attempt each. A
    CTE, so the picking runs once (an ``IN (subquery)`` may be re-run per row)."""
    picked = picking.cte("picked")
    return (
        sa.update(t.runs)
        .where(r.id.in_(sa.select(picked.c.id)), in_sources(CLAIM))
        .values(
            {
                **moved_to(CLAIM, RunState.RUNNING),
                "attempt": r.attempt + 1,
                "lease_owner": param(r.lease_owner),
                "lease_expires_at": param(r.lease_expires_at),
                "started_at": sa.func.coalesce(r.started_at, param(r.started_at, "now")),
            }
        )
        .returning(*t.runs.c)
    )


_CLAIM_OLDEST = _claim_statement(_PENDING_UNLIMITED)
_CLAIM_CHOSEN = _claim_statement(sa.select(r.id).where(r.id.in_(params_in(r.id, "ids"))))


def _limited_candidates(tx: Tx, limited: list[dict[str, Any]], limit: int) -> list[str]:
    """The runs a claim may take when processes with a limit have pending runs: each limited
    process's oldest runs up to its free slots, and the oldest runs of every other process. The
    oldest of them all are claimed, so a limited process neither passes its limit nor jumps the
    queue ahead of older runs of other processes."""
    limited_ids = [row["id"] for row in limited]
    locked = set(tx.scalars(_LOCK_LIMITED, {"ids": limited_ids}))
    counted = tx.execute(_RUNNING_OF, {"ids": sorted(locked)}).rows if locked else []
    running: dict[str, int] = {process_id: count for process_id, count in counted}
    candidates: list[str] = []
    for row in limited:
        free = min(row["max_concurrent_runs"] - running.get(row["id"], 0), limit)
        if row["id"] in locked and free > 0:
            candidates += tx.scalars(_PENDING_OF, {"process_id": row["id"], "limit": free})
    candidates += tx.scalars(_PENDING_NOT_OF, {"ids": limited_ids, "limit": limit})
    return sorted(candidates)[:limit]


# --- finishing, handing back, recovering ------------------------------------------------------

_HEARTBEAT = (
    sa.update(t.runs)
    .where(
        r.id.in_(params_in(r.id, "ids")),
        r.lease_owner == param(r.lease_owner, "worker"),
        state_is(RunState.RUNNING),
    )
    .values(lease_expires_at=param(r.lease_expires_at))
    .returning(r.id, r.cancel_requested)
)
_HAND_BACK = (
    sa.update(t.runs)
    .where(
        r.id.in_(params_in(r.id, "ids")),
        r.lease_owner == param(r.lease_owner, "worker"),
        in_sources(HAND_BACK),
    )
    .values({**moved_to(HAND_BACK, RunState.PENDING), "lease_owner": None, "lease_expires_at": None})
    .returning(r.id, r.attempt)
)


#: The parameters each outcome of a fenced finish gives (named ``<name>__<i>`` for the i-th).
_PER_OUTCOME = ("b_id", "b_attempt", "state", "exec_state", "outputs", "error")


@functools.lru_cache(maxsize=512)
def _finish_statement(outputs: bool, error: bool, final: bool, n: int) -> sa.Update:
    """The fenced outcomes of ``n`` runs in one statement: each written only while its attempt
    still holds the run (same attempt, still Running), so a worker that lost its lease cannot
    overwrite a recovered run; the ids written come back, each with whether a webhook subscription
    covers it (``HEARD``). Each run's values are picked by its id (``CASE runs.id WHEN …``; one
    outcome: the plain values); outputs and error set only when given by all ``n``, finished_at
    when the outcomes are final."""
    ids = [param(r.id, f"b_id__{i}") for i in range(n)]

    def each(column: sa.Column[Any], name: str) -> sa.ColumnElement[Any]:
        # ELSE the column itself: never taken (every run of the statement is named), it gives the
        # CASE the column's type on PostgreSQL.
        if n == 1:
            return param(column, f"{name}__0")
        return sa.case({ids[i]: param(column, f"{name}__{i}") for i in range(n)}, value=r.id, else_=column)

    values: dict[str, Any] = {
        "state": each(r.state, "state"),
        "lease_owner": None,
        "lease_expires_at": None,
        "exec_state": each(r.exec_state, "exec_state"),
    }
    if outputs:
        values["outputs"] = each(r.outputs, "outputs")
    if error:
        values["error"] = each(r.error, "error")
    if final:
        values["finished_at"] = param(r.finished_at)
    where = r.id == ids[0] if n == 1 else r.id.in_(ids)
    statement = sa.update(t.runs).where(where, r.attempt == each(r.attempt, "b_attempt"), in_sources(FINISH))
    return statement.values(values).returning(r.id, HEARD)


def _finish_batches(outcomes: Sequence[Outcome]) -> list[list[int]]:
    """The outcomes (by position) that share a fenced finish statement: the same columns given,
    and each run once (a run's second outcome in the same call goes in a later statement, so that
    the fence sees the first one's write, as one statement per outcome did)."""
    batches: dict[tuple[int, bool, bool, bool], list[int]] = {}
    seen: dict[str, int] = {}
    for i, o in enumerate(outcomes):
        turn = seen[o.run_id] = seen.get(o.run_id, -1) + 1
        batches.setdefault((turn, o.outputs is not None, o.error is not None, o.final), []).append(i)
    return [batches[key] for key in sorted(batches)]


_EXPIRED = (
    sa.select(r.id, r.attempt, r.max_attempts, r.lease_owner, r.parent_run_id)
    .where(in_sources(RECOVER), r.lease_expires_at < param(r.lease_expires_at, "now"))
    .limit(500)
    .with_for_update()
)
_RECOVER_WHERE = (
    r.id == param(r.id, "b_id"),
    r.attempt == param(r.attempt, "b_attempt"),
    in_sources(RECOVER),
)
_RECOVER_RETRY = (
    sa.update(t.runs)
    .where(*_RECOVER_WHERE)
    .values({**moved_to(RECOVER, RunState.PENDING), "lease_owner": None, "lease_expires_at": None})
)
_RECOVER_FAIL = (
    sa.update(t.runs)
    .where(*_RECOVER_WHERE)
    .values(
        {
            **moved_to(RECOVER, RunState.FAILED),
            "lease_owner": None,
            "lease_expires_at": None,
            "finished_at": param(r.finished_at),
            "error": param(r.error),
        }
    )
)

# --- cancel and children ----------------------------------------------------------------------

_RUN_LOCKED = sa.select(t.runs).where(r.id == param(r.id)).with_for_update()
#: Whether an attempt still runs: live log lines are written only while it does.
_STILL_RUNNING = sa.select(r.id).where(
    r.id == param(r.id), r.attempt == param(r.attempt), r.state == RunState.RUNNING.value
)

#: An agent's queue: its pending runs, through the partial index of pending runs.
_QUEUED = (
    sa.select(sa.func.count())
    .select_from(t.runs)
    .where(state_is(RunState.PENDING), r.agent_id == param(r.agent_id))
)

_ASK_CANCEL = sa.update(t.runs).where(r.id == param(r.id, "b_id")).values(cancel_requested=True)
_CANCEL = (
    sa.update(t.runs)
    .where(r.id == param(r.id, "b_id"), in_sources(CANCEL))
    .values(
        {
            **moved_to(CANCEL, RunState.CANCELLED),
            "finished_at": param(r.finished_at),
            "cancel_requested": True,
        }
    )
)
_UNFINISHED_CHILDREN = (
    sa.select(r.id, r.state, r.attempt)
    .where(r.parent_run_id.in_(params_in(r.parent_run_id, "ids")), unfinished())
    .with_for_update()
)
# Locked whatever their state (a filter on Waiting would skip a parent that another transaction is
# parking right now, instead of waiting for it to commit), then checked.
_PARENTS = (
    sa.select(r.id, r.state, r.attempt, r.exec_state)
    .where(r.id.in_(params_in(r.id, "ids")))
    .order_by(r.id)
    .with_for_update()
)
_COUNT_UNFINISHED = (
    sa.select(sa.func.count()).select_from(t.runs).where(r.id.in_(params_in(r.id, "ids")), unfinished())
)
_WAKE = (
    sa.update(t.runs)
    .where(r.id == param(r.id, "b_id"), in_sources(WAKE))
    .values(moved_to(WAKE, RunState.PENDING))
)


def waiting_for(exec_state: dict[str, Any] | None) -> list[str]:
    """The child runs a parked run waits for."""
    return [str(i) for i in (exec_state or {}).get("waiting_for") or []]


def wake_parents(tx: Tx, parent_ids: Iterable[str]) -> list[str]:
    """Inside the caller's transaction: parents whose awaited children all ended become Pending."""
    wanted = sorted({p for p in parent_ids if p})
    if not wanted:
        return []
    woken = []
    for row in tx.rows(_PARENTS, {"ids": wanted}):
        if row["state"] != RunState.WAITING.value:
            continue
        children = waiting_for(row["exec_state"])
        if children and tx.scalar(_COUNT_UNFINISHED, {"ids": children}):
            continue
        woken.append(row)
    if not woken:
        return []
    now = utcnow()
    events = []
    for row in woken:
        tx.run(_WAKE, {"b_id": row["id"]})
        data = {"reason": "child runs ended", "runs": waiting_for(row["exec_state"])}
        events.append(
            WAKE.event_row(
                row["id"],
                attempt=row["attempt"],
                at=now,
                from_state=RunState.WAITING,
                to_state=RunState.PENDING,
                data=data,
            )
        )
    record_moves(tx, events)
    tx.announce_new_runs()
    return [row["id"] for row in woken]


def cancel_in(
    tx: Tx, run_id: str, state: RunState, attempt: int, *, reason: str, now: datetime
) -> dict[str, Any]:
    """Inside the caller's transaction: a running run is asked to cancel (its worker is told), any
    other unfinished run is Cancelled at once. Returns the values written."""
    if state is RunState.RUNNING:
        tx.run(_ASK_CANCEL, {"b_id": run_id})
        tx.announce_cancel(run_id)
        return {"cancel_requested": True}
    tx.run(_CANCEL, {"b_id": run_id, "finished_at": now})
    event = CANCEL.event_row(
        run_id,
        attempt=attempt,
        at=now,
        from_state=state,
        to_state=RunState.CANCELLED,
        data={"reason": reason},
    )
    record_moves(tx, [event])
    return {"state": RunState.CANCELLED.value, "finished_at": now, "cancel_requested": True}


def cancel_descendants(tx: Tx, run_id: str, *, reason: str, now: datetime) -> None:
    """Inside the caller's transaction: cancel every unfinished run below ``run_id``. Pending,
    waiting and paused ones end at once; running ones are asked. Each is locked first, so the state
    it is cancelled from is still its state (a claim skips it)."""
    frontier = [run_id]
    while frontier:
        rows = tx.rows(_UNFINISHED_CHILDREN, {"ids": frontier})
        frontier = [row["id"] for row in rows]
        for row in rows:
            cancel_in(tx, row["id"], RunState(row["state"]), row["attempt"], reason=reason, now=now)


def _finish_params(outcomes: Sequence[Outcome], now: datetime) -> dict[str, Any]:
    """The parameters of the fenced finish of ``outcomes`` (see ``_finish_statement``). Only those
    its statement has: SQLAlchemy's ``Connection`` would set a column named by another one."""
    params: dict[str, Any] = {"finished_at": now} if outcomes[0].final else {}
    for i, o in enumerate(outcomes):
        given = (o.run_id, o.attempt, o.to_state.value, o.exec_state, o.outputs, o.error)
        for name, value in zip(_PER_OUTCOME, given, strict=True):
            if value is not None or name == "exec_state":  # outputs and error only when given
                params[f"{name}__{i}"] = value
    return params


def _finished(o: Outcome, now: datetime) -> list[dict[str, Any]]:
    """The events an outcome records when it is written."""
    state = FINISH.event_row(
        o.run_id,
        attempt=o.attempt,
        at=now,
        from_state=RunState.RUNNING,
        to_state=o.to_state,
        data=o.event_data,
    )
    return [*log_events(o.run_id, o.attempt, now, o.log), state]


class ExecutionSql(Part):
    def claim(self, worker_id: str, *, limit: int, lease_s: float) -> list[Run]:
        """Move up to ``limit`` pending runs to Running under this worker's lease, oldest first.

        A process with a concurrency limit (``max_concurrent_runs``) never has more runs Running
        than its limit: its runs are claimed only into its free slots, counted under a lock on the
        process's row (PostgreSQL; SQLite has one writer), and the other claims skip them.
        """

        def stamped(at: datetime) -> dict[str, Any]:
            lease = at + timedelta(seconds=lease_s)
            return {"limit": limit, "lease_owner": worker_id, "lease_expires_at": lease, "now": at}

        now = utcnow()
        with self.db.write() as tx:
            # Runs claimed: no limited process has pending runs. None: either nothing is pending,
            # or limited processes have some, which only then are looked for.
            claimed = tx.rows(_CLAIM_OLDEST, stamped(now))
            limited = tx.rows(_LIMITED) if not claimed else []
            if limited:
                chosen = _limited_candidates(tx, limited, limit)
                # Stamped after the count that found the free slots (on PostgreSQL a statement of
                # its own, on a newer snapshot): the runs whose end freed them ended before the
                # ones claimed here start.
                now = utcnow()
                claimed = tx.rows(_CLAIM_CHOSEN, {**stamped(now), "ids": chosen}) if chosen else []
            events = [
                CLAIM.event_row(
                    row["id"],
                    attempt=row["attempt"],
                    at=now,
                    from_state=RunState.PENDING,
                    to_state=RunState.RUNNING,
                    data={"worker": worker_id},
                )
                for row in claimed
            ]
            record_moves(tx, events)
        return sorted((Run.from_row(row) for row in claimed), key=lambda run: run.id)

    def heartbeat(self, worker_id: str, run_ids: Sequence[str], *, lease_s: float) -> dict[str, bool]:
        """Extend the leases this worker still holds. Returns the ids still held, each with whether
        a cancel was asked for (a fallback for a missed cancel notification)."""
        if not run_ids:
            return {}
        params = {
            "ids": list(run_ids),
            "worker": worker_id,
            "lease_expires_at": utcnow() + timedelta(seconds=lease_s),
        }
        with self.db.write() as tx:
            return {rid: bool(cancel) for rid, cancel in tx.execute(_HEARTBEAT, params).rows}

    def hand_back(self, worker_id: str, run_ids: Sequence[str]) -> list[str]:
        """A worker shutting down returns runs it will not finish; the attempt is not counted as lost."""
        if not run_ids:
            return []
        now = utcnow()
        with self.db.write() as tx:
            rows = tx.execute(_HAND_BACK, {"ids": list(run_ids), "worker": worker_id}).rows
            events = [
                HAND_BACK.event_row(
                    rid,
                    attempt=attempt,
                    at=now,
                    from_state=RunState.RUNNING,
                    to_state=RunState.PENDING,
                    data={"worker": worker_id},
                )
                for rid, attempt in rows
            ]
            if events:
                record_moves(tx, events)
                tx.announce_new_runs()
        return [rid for rid, _ in rows]

    def queued(self, agent_id: str) -> int:
        """How many of an agent's runs wait for a worker."""
        with self.db.read() as tx:
            return int(tx.scalar(_QUEUED, {"agent_id": agent_id}))

    def log(self, run_id: str, attempt: int, lines: Sequence[tuple[datetime, dict[str, Any]]]) -> bool:
        """Log lines of an attempt that is still running, written as they happen (each at its
        moment); nothing when the attempt no longer holds the run. Whether they were written."""
        events = [log_events(run_id, attempt, at, [line])[0] for at, line in lines]
        with self.db.write() as tx:
            if tx.first(_STILL_RUNNING, {"id": run_id, "attempt": attempt}) is None:
                return False
            tx.execute_many(INSERT_EVENTS, events)
        return True

    def finish(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Record attempts' outcomes in one transaction, each with its log lines and state event,
        fenced (see ``_finish_statement``): whether each was written."""
        now = utcnow()
        # Built before the write lock is taken: the statements, their parameters, the events.
        statements = []
        for batch in _finish_batches(outcomes):
            these = [outcomes[i] for i in batch]
            o = these[0]
            statement = _finish_statement(o.outputs is not None, o.error is not None, o.final, len(these))
            statements.append((batch, statement, _finish_params(these, now)))
        their_events = [_finished(o, now) for o in outcomes]
        written = [False] * len(outcomes)
        events: list[dict[str, Any]] = []
        wake: list[str] = []  # waiting parents (and runs just parked) to check for ended children
        heard: set[str] = set()  # the runs a webhook subscription covers
        with self.db.write() as tx:
            for batch, statement, params in statements:
                done = {row["id"]: row["heard"] for row in tx.rows(statement, params)}
                heard.update(run_id for run_id, covered in done.items() if covered)
                for i in batch:
                    written[i] = outcomes[i].run_id in done
            for o, ok, its_events in zip(outcomes, written, their_events, strict=True):
                if not ok:
                    continue
                if o.children:
                    insert_runs(tx, o.children, {"parent_run_id": o.run_id})
                if o.to_state is RunState.WAITING:
                    wake.append(o.run_id)
                elif o.final and o.parent_run_id:
                    wake.append(o.parent_run_id)
                events += its_events
            record_moves(tx, events, heard)
            wake_parents(tx, wake)
        return written

    def cancel(self, run_id: str, *, reason: str = "cancelled") -> Run:
        """Cancel a run: a pending, waiting or paused run stops at once; a running one is asked."""
        now = utcnow()
        with self.db.write() as tx:
            row = tx.first(_RUN_LOCKED, {"id": run_id})
            if row is None:
                raise NotFound("The run was not found.")
            state = RunState(row["state"])
            if state.is_final:
                raise Conflict(f"The run has already ended ({state.value}).")
            values = cancel_in(tx, run_id, state, row["attempt"], reason=reason, now=now)
            if state is not RunState.RUNNING and row["parent_run_id"]:
                # It ended now (a running one ends with its worker's outcome): wake a waiting parent.
                wake_parents(tx, [row["parent_run_id"]])
            cancel_descendants(tx, run_id, reason="its parent run was cancelled", now=now)
        return Run.from_row({**row, **values})

    def recover(self, *, now: datetime | None = None) -> list[tuple[str, RunState]]:
        """Runs whose worker stopped heart-beating: back to Pending, or Failed after the last attempt."""
        now = now or utcnow()
        recovered: list[tuple[str, RunState]] = []
        with self.db.write() as tx:
            rows = tx.rows(_EXPIRED, {"now": now})
            events = []
            for row in rows:
                last = row["attempt"] >= row["max_attempts"]
                where = {"b_id": row["id"], "b_attempt": row["attempt"]}
                if last:
                    error = {
                        "message": f"The run's worker was lost {row['attempt']} times; giving up.",
                        "kind": "worker_lost",
                    }
                    tx.run(_RECOVER_FAIL, {**where, "finished_at": now, "error": error})
                else:
                    tx.run(_RECOVER_RETRY, where)
                to_state = RunState.FAILED if last else RunState.PENDING
                data = {"reason": "worker lost", "worker": row["lease_owner"]}
                events.append(
                    RECOVER.event_row(
                        row["id"],
                        attempt=row["attempt"],
                        at=now,
                        from_state=RunState.RUNNING,
                        to_state=to_state,
                        data=data,
                    )
                )
                recovered.append((row["id"], to_state))
            record_moves(tx, events)
            if any(state is RunState.PENDING for _, state in recovered):
                tx.announce_new_runs()
            wake_parents(tx, [row["parent_run_id"] for row in rows if row["attempt"] >= row["max_attempts"]])
        return recovered
