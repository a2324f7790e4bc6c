"""Guidance in the store: a waiting run resumed or stopped, and the learnings that answer by themselves.

Every write is one transaction, fenced on the run still waiting for guidance in the attempt that
paused it: an answer that arrives after another one (or after the run moved on and paused again)
changes nothing and reports ``False``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from plainrun import ids
from plainrun.domain.runs import RunState
from plainrun.store import schema as t
from plainrun.store.sql import SqlStore, utcnow


@dataclass(frozen=True, slots=True)
class Learning:
    """A remembered answer: ``action`` (value, skip or stop) and its ``value`` for one question."""

    id: str
    agent_id: str
    process_id: str
    line: int
    question: str
    action: str
    value: Any
    created_at: datetime


def _learning(row: RowMapping) -> Learning:
    return Learning(**{k: row[k] for k in Learning.__slots__})  # type: ignore[attr-defined]


def _waiting(run_id: str, attempt: int | None) -> list[sa.ColumnElement[bool]]:
    where = [t.runs.c.id == run_id, t.runs.c.state == RunState.AWAITING_GUIDANCE.value]
    if attempt is not None:
        where.append(t.runs.c.attempt == attempt)
    return where


def _event(conn: Connection, run_id: str, to_state: RunState, attempt: int, data: dict[str, Any]) -> None:
    conn.execute(
        sa.insert(t.run_events).values(
            run_id=run_id,
            at=utcnow(),
            kind="guidance",
            from_state=RunState.AWAITING_GUIDANCE.value,
            to_state=to_state.value,
            attempt=attempt,
            data=data,
        )
    )


def resume_run(
    store: SqlStore,
    run_id: str,
    *,
    exec_state: dict[str, Any],
    event_data: dict[str, Any],
    attempt: int | None = None,
) -> bool:
    """AwaitingGuidance -> Pending with the answered ``exec_state``; wakes workers. False if fenced out.

    The attempt that paused is not counted against the run's attempts (as a hand-back is not),
    so a run answered many times keeps its full allowance for lost workers.
    """
    with store.write() as conn:
        row = conn.execute(
            sa.update(t.runs)
            .where(*_waiting(run_id, attempt))
            .values(
                state=RunState.PENDING.value,
                exec_state=exec_state,
                error=None,
                max_attempts=t.runs.c.max_attempts + 1,
            )
            .returning(t.runs.c.attempt)
        ).first()
        if row is None:
            return False
        _event(conn, run_id, RunState.PENDING, row.attempt, event_data)
        store.notify_new_runs(conn)
    return True


def fail_waiting_run(
    store: SqlStore,
    run_id: str,
    *,
    error: dict[str, Any],
    event_data: dict[str, Any],
    attempt: int | None = None,
) -> bool:
    """AwaitingGuidance -> Failed (guidance said stop) with ``error``. False if fenced out."""
    with store.write() as conn:
        row = conn.execute(
            sa.update(t.runs)
            .where(*_waiting(run_id, attempt))
            .values(state=RunState.FAILED.value, error=error, finished_at=utcnow())
            .returning(t.runs.c.attempt, t.runs.c.parent_run_id)
        ).first()
        if row is None:
            return False
        _event(conn, run_id, RunState.FAILED, row.attempt, event_data)
        if row.parent_run_id:
            from plainrun.store.children import wake_parents

            wake_parents(store, conn, [row.parent_run_id])
    return True


# --- learnings -------------------------------------------------------------------------------


def remember(
    store: SqlStore,
    *,
    agent_id: str,
    process_id: str,
    line: int,
    question: str,
    action: str,
    value: Any = None,
) -> Learning:
    """Remember an answer; it replaces any earlier one for the same question on the same line."""
    learning = Learning(
        id=ids.new_id(),
        agent_id=agent_id,
        process_id=process_id,
        line=line,
        question=question,
        action=action,
        value=value,
        created_at=utcnow(),
    )
    with store.write() as conn:
        conn.execute(
            sa.delete(t.learnings).where(
                t.learnings.c.process_id == process_id,
                t.learnings.c.line == line,
                t.learnings.c.question == question,
            )
        )
        conn.execute(sa.insert(t.learnings).values(asdict(learning)))
    return learning


def find_learning(store: SqlStore, process_id: str, line: int, question: str) -> Learning | None:
    """The newest learning for this question on this line of the process, if any."""
    with store.read() as conn:
        row = (
            conn.execute(
                sa.select(t.learnings)
                .where(
                    t.learnings.c.process_id == process_id,
                    t.learnings.c.line == line,
                    t.learnings.c.question == question,
                )
                .order_by(t.learnings.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
    return _learning(row) if row else None


def get_learning(store: SqlStore, learning_id: str) -> Learning | None:
    with store.read() as conn:
        row = conn.execute(sa.select(t.learnings).where(t.learnings.c.id == learning_id)).mappings().first()
    return _learning(row) if row else None


def list_learnings(store: SqlStore, process_id: str, *, limit: int = 1000) -> list[Learning]:
    """A process's learnings, newest first."""
    with store.read() as conn:
        rows = (
            conn.execute(
                sa.select(t.learnings)
                .where(t.learnings.c.process_id == process_id)
                .order_by(t.learnings.c.id.desc())
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return [_learning(r) for r in rows]


def delete_learning(store: SqlStore, learning_id: str) -> bool:
    with store.write() as conn:
        result = conn.execute(sa.delete(t.learnings).where(t.learnings.c.id == learning_id))
    return result.rowcount == 1
