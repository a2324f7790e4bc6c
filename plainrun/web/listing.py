"""The runs of a process as the "View Runs" page lists them: keyset pages, newest first.

This is a read model for the UI alone. Beside the API's filters (stage, states, archived) it filters
by trigger. Access is checked by the process service first, so a process of another agent is not
found. Pages are keyset pages on the run id (``before``: the last id of the previous page) over the
``ix_runs_process_*`` indexes: a page costs the same at run 10 and at run 100,000, and nothing counts
all runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from plainrun import ids
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.services.access import Principal
from plainrun.services.container import Services
from plainrun.store import schema as t
from plainrun.store.records import Process, Run

PAGE = 25


@dataclass(frozen=True, slots=True)
class RunFilter:
    stage: Stage | None = None
    states: Sequence[RunState] = ()
    triggers: Sequence[Trigger] = ()
    archived: bool = False


@dataclass(frozen=True, slots=True)
class RunList:
    process: Process
    items: list[Run]
    #: The output names shown as columns, in the order the runs first defined them.
    output_names: list[str]
    #: ``before`` of the next page, or None on the last page.
    next_before: str | None


def list_runs(
    services: Services,
    principal: Principal,
    process_id: str,
    where: RunFilter,
    *,
    before: str | None = None,
    limit: int = PAGE,
) -> RunList:
    process = services.processes.get(principal, process_id)
    query = sa.select(t.runs.c.id).where(
        t.runs.c.process_id == process.id, t.runs.c.archived == where.archived
    )
    if where.stage is not None:
        query = query.where(t.runs.c.stage == where.stage.value)
    if where.states:
        query = query.where(t.runs.c.state.in_([s.value for s in where.states]))
    if where.triggers:
        query = query.where(t.runs.c.trigger.in_([tr.value for tr in where.triggers]))
    if before is not None and ids.is_id(before):
        query = query.where(t.runs.c.id < before)
    query = query.order_by(t.runs.c.id.desc()).limit(limit + 1)
    with services.store.read() as conn:
        found = list(conn.scalars(query))
    runs = services.store.get_runs(found[:limit])  # one more query for the page's rows, not one per row
    items = [runs[run_id] for run_id in found[:limit] if run_id in runs]
    names: dict[str, None] = {}
    for run in items:
        for output in run.outputs or []:
            names.setdefault(str(output.get("name")), None)
    return RunList(
        process=process,
        items=items,
        output_names=list(names)[:12],
        next_before=found[limit - 1] if len(found) > limit else None,
    )
