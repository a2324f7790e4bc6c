"""The home page's roll-up: each past day of an agent's runs counted once, and the runs read afresh.

A counted day keeps the tallies of the runs that had ended when it was counted (``run_days``: they
never change) and the ids of those that had not (``run_days_open``: read afresh on every count). The
service decides which days to count (``services/overview.py``); see ``domain/overview.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from plainrun.domain.overview import DayCount, RunFacts, Tally, first_id
from plainrun.domain.runs import RunState
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param, params_in

r, d, o = t.runs.c, t.run_days.c, t.run_days_open.c
#: The process and state of the row that marks a day as counted.
_MARK = ""
_STATES = {s.value: s for s in RunState}


class _Seconds(sa.sql.functions.FunctionElement[float]):
    """How long a run ran, in seconds, from ``started_at`` to ``finished_at`` (NULL until both are
    set), computed by the database: no timestamp is decoded to count a day."""

    type = sa.Float()
    inherit_cache = True
    name = "plainrun_seconds"


@compiles(_Seconds, "sqlite")
def _seconds_sqlite(element: _Seconds, compiler: Any, **kw: Any) -> str:
    # SQLite's date functions round to the millisecond, a whole share of a run of a few: the whole
    # seconds come from them (text ``YYYY-MM-DD HH:MM:SS`` first) and the fraction from the text.
    whole = "CAST(strftime('%s', substr(runs.{0}, 1, 19)) AS INTEGER)"
    part = "CAST(substr(runs.{0}, 20) AS REAL)"
    return (
        f"(({whole.format('finished_at')} - {whole.format('started_at')})"
        f" + ({part.format('finished_at')} - {part.format('started_at')}))"
    )


@compiles(_Seconds)
def _seconds(element: _Seconds, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM (runs.finished_at - runs.started_at)) AS DOUBLE PRECISION)"


_FACT_COLUMNS = (r.id, r.process_id, r.state, _Seconds())
# A day's runs through ix_runs_agent_list: both values of ``archived`` are two ranges of ids.
_FACTS = sa.select(*_FACT_COLUMNS).where(
    r.agent_id == param(r.agent_id),
    r.archived.in_([False, True]),
    r.id >= param(r.id, "since"),
    r.id < param(r.id, "until"),
)
_OPEN_FACTS = (
    sa.select(*_FACT_COLUMNS, o.day)
    .select_from(t.run_days_open.join(t.runs, r.id == o.run_id))
    .where(o.agent_id == param(o.agent_id), o.day >= param(o.day, "since"))
)
_MARKS = sa.select(d.day).where(
    d.agent_id == param(d.agent_id), d.day >= param(d.day, "since"), d.process_id == _MARK, d.state == _MARK
)
_COUNTED = sa.select(d.day, d.process_id, d.state, d.runs, d.durations).where(
    d.agent_id == param(d.agent_id), d.day.in_(params_in(d.day, "days")), d.process_id != _MARK
)
_MARKED = sa.select(d.day).where(
    d.agent_id == param(d.agent_id),
    d.day.in_(params_in(d.day, "days")),
    d.process_id == _MARK,
    d.state == _MARK,
)
_INSERT_DAYS = sa.insert(t.run_days)
_INSERT_OPEN = sa.insert(t.run_days_open)
_FORGET_DAYS = sa.delete(t.run_days).where(d.agent_id == param(d.agent_id), d.day < param(d.day, "before"))
_FORGET_OPEN = sa.delete(t.run_days_open).where(
    o.agent_id == param(o.agent_id), o.day < param(o.day, "before")
)


def _day_rows(agent_id: str, count: DayCount) -> list[dict[str, Any]]:
    day = count.day.isoformat()
    rows = [
        {
            "agent_id": agent_id,
            "day": day,
            "process_id": one.process_id,
            "state": one.state.value,
            "runs": one.runs,
            "durations": sorted([k, n] for k, n in one.durations.items()) or None,
        }
        for one in count.tallies
    ]
    runs = sum(one.runs for one in count.tallies) + len(count.open_ids)
    mark = {"process_id": _MARK, "state": _MARK, "runs": runs, "durations": None}
    return [*rows, {"agent_id": agent_id, "day": day, **mark}]


class RunDaysSql(Part):
    def facts(self, agent_id: str, day: date) -> list[RunFacts]:
        """The runs an agent made on ``day`` (UTC), archived or not."""
        since, until = first_id(day), first_id(day + timedelta(days=1))
        with self.db.read() as tx:
            rows = tx.execute(_FACTS, {"agent_id": agent_id, "since": since, "until": until}).rows
        return [RunFacts(i, day, p, _STATES[s], sec) for i, p, s, sec in rows]

    def open_facts(self, agent_id: str, since: date) -> list[RunFacts]:
        """The runs that had not ended when their day (``since`` or later) was counted, as they are now."""
        with self.db.read() as tx:
            rows = tx.execute(_OPEN_FACTS, {"agent_id": agent_id, "since": since.isoformat()}).rows
        return [RunFacts(i, date.fromisoformat(day), p, _STATES[s], sec) for i, p, s, sec, day in rows]

    def counted(
        self, agent_id: str, since: date, *, known: Collection[date] = ()
    ) -> tuple[set[date], list[Tally]]:
        """The days from ``since`` on that were counted, and the tallies of those not ``known``
        already (a counted day never changes)."""
        with self.db.read() as tx:
            days = {
                date.fromisoformat(day)
                for day in tx.scalars(_MARKS, {"agent_id": agent_id, "since": since.isoformat()})
            }
            wanted = sorted(day.isoformat() for day in days - set(known))
            rows = tx.execute(_COUNTED, {"agent_id": agent_id, "days": wanted}).rows if wanted else []
        tallies = [
            Tally(date.fromisoformat(day), process_id, _STATES[state], runs, dict(durations or ()))
            for day, process_id, state, runs, durations in rows
        ]
        return days, tallies

    def record(self, agent_id: str, counts: Sequence[DayCount], *, forget_before: date) -> list[date]:
        """Keep days counted (each once: a day counted meanwhile elsewhere is left as it is), and
        forget the days before ``forget_before``; the days recorded here."""
        if not counts:
            return []
        try:
            with self.db.write() as tx:
                marked = {
                    date.fromisoformat(day)
                    for day in tx.scalars(
                        _MARKED, {"agent_id": agent_id, "days": [c.day.isoformat() for c in counts]}
                    )
                }
                fresh = [c for c in counts if c.day not in marked]
                rows = [row for c in fresh for row in _day_rows(agent_id, c)]
                open_rows = [
                    {"agent_id": agent_id, "day": c.day.isoformat(), "run_id": run_id}
                    for c in fresh
                    for run_id in c.open_ids
                ]
                if rows:
                    tx.execute_many(_INSERT_DAYS, rows)
                if open_rows:
                    tx.execute_many(_INSERT_OPEN, open_rows)
                forget = {"agent_id": agent_id, "before": forget_before.isoformat()}
                tx.run(_FORGET_DAYS, forget)
                tx.run(_FORGET_OPEN, forget)
        except sa.exc.IntegrityError:  # counted at the same moment by another host: theirs stands
            return []
        return [c.day for c in fresh]
