"""Guidance in the store: a waiting run resumed or stopped, and the learnings that answer by themselves.

Every answer is one transaction, fenced on the run still waiting for guidance in the attempt that
paused it: an answer that arrives after another one (or after the run moved on and paused again)
changes nothing and reports ``False``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.guidance import Learning
from plainrun.domain.runs import RESUME, STOP, RunState
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param
from plainrun.store.sql.execution import in_sources, moved_to, record_moves, wake_parents

r, lr = t.runs.c, t.learnings.c
_WAITING = (r.id == param(r.id, "b_id"), r.attempt == param(r.attempt, "b_attempt"))
_RESUME = (
    sa.update(t.runs)
    .where(*_WAITING, in_sources(RESUME))
    .values({**moved_to(RESUME, RunState.PENDING), "exec_state": param(r.exec_state), "error": None})
    .returning(r.attempt)
)
_STOP = (
    sa.update(t.runs)
    .where(*_WAITING, in_sources(STOP))
    .values({**moved_to(STOP, RunState.FAILED), "error": param(r.error), "finished_at": param(r.finished_at)})
    .returning(r.attempt, r.parent_run_id)
)
_SAME_QUESTION = (
    lr.process_id == param(lr.process_id),
    lr.line == param(lr.line),
    lr.question == param(lr.question),
)
_FORGET_SAME = sa.delete(t.learnings).where(*_SAME_QUESTION)
_INSERT_LEARNING = sa.insert(t.learnings)
_FIND = sa.select(t.learnings).where(*_SAME_QUESTION).order_by(lr.id.desc()).limit(1)
_LEARNING = sa.select(t.learnings).where(lr.id == param(lr.id))
_LEARNINGS = (
    sa.select(t.learnings)
    .where(lr.process_id == param(lr.process_id))
    .order_by(lr.id.desc())
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_DELETE = sa.delete(t.learnings).where(lr.id == param(lr.id))


class GuidanceSql(Part):
    def resume(
        self, run_id: str, *, attempt: int, exec_state: dict[str, Any], event_data: dict[str, Any]
    ) -> bool:
        """AwaitingGuidance -> Pending with the answered ``exec_state``; wakes workers. False if
        fenced out. The attempt that paused is not counted against the run's attempts (as a
        hand-back is not), so a run answered many times keeps its allowance for lost workers."""
        with self.db.write() as tx:
            row = tx.first(_RESUME, {"b_id": run_id, "b_attempt": attempt, "exec_state": exec_state})
            if row is None:
                return False
            event = RESUME.event_row(
                run_id,
                attempt=row["attempt"],
                at=utcnow(),
                from_state=RunState.AWAITING_GUIDANCE,
                to_state=RunState.PENDING,
                data=event_data,
            )
            record_moves(tx, [event])
            tx.announce_new_runs()
        return True

    def stop(self, run_id: str, *, attempt: int, error: dict[str, Any], event_data: dict[str, Any]) -> bool:
        """AwaitingGuidance -> Failed (guidance said stop) with ``error``. False if fenced out."""
        now = utcnow()
        with self.db.write() as tx:
            row = tx.first(_STOP, {"b_id": run_id, "b_attempt": attempt, "error": error, "finished_at": now})
            if row is None:
                return False
            event = STOP.event_row(
                run_id,
                attempt=row["attempt"],
                at=now,
                from_state=RunState.AWAITING_GUIDANCE,
                to_state=RunState.FAILED,
                data=event_data,
            )
            record_moves(tx, [event])
            wake_parents(tx, [row["parent_run_id"]])
        return True

    # --- learnings -------------------------------------------------------------------------------

    def remember(
        self, *, agent_id: str, process_id: str, line: int, question: str, action: str, value: Any = None
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
        with self.db.write() as tx:
            tx.run(_FORGET_SAME, {"process_id": process_id, "line": line, "question": question})
            tx.run(_INSERT_LEARNING, asdict(learning))
        return learning

    def find(self, process_id: str, line: int, question: str) -> Learning | None:
        """The newest learning for this question on this line of the process, if any."""
        with self.db.read() as tx:
            row = tx.first(_FIND, {"process_id": process_id, "line": line, "question": question})
        return Learning(**row) if row else None

    def get(self, learning_id: str) -> Learning | None:
        with self.db.read() as tx:
            row = tx.first(_LEARNING, {"id": learning_id})
        return Learning(**row) if row else None

    def of_process(self, process_id: str, *, limit: int = 1000) -> list[Learning]:
        """A process's learnings, newest first."""
        with self.db.read() as tx:
            return [
                Learning(**row) for row in tx.rows(_LEARNINGS, {"process_id": process_id, "limit": limit})
            ]

    def forget(self, learning_id: str) -> bool:
        with self.db.write() as tx:
            return tx.run(_DELETE, {"id": learning_id}) == 1
