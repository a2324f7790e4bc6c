"""An agent's home page: its runs of the last 30 days in figures (see ``domain/overview.py``)."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

from plainrun.domain.clock import utcnow
from plainrun.domain.overview import DAYS, Overview, ProcessRecord, by_day, percentile
from plainrun.domain.runs import RunState
from plainrun.errors import NotFound
from plainrun.services.access import Principal
from plainrun.store import Store

#: The newest succeeded runs of each process whose durations make its p50 and p95.
DURATION_SAMPLE = 1000
#: The most processes a home page gives a record of (those with the most runs).
MAX_PROCESSES = 50


#: How long an agent's figures are reused before they are counted again (the counting reads every
#: run of the last 30 days from an index: at 100,000 runs it costs more than a page should).
FRESH_S = 15.0


class OverviewService:
    def __init__(self, store: Store, fresh_s: float = FRESH_S):
        self.store = store
        self.fresh_s = fresh_s
        self._recent: dict[str, tuple[float, Overview]] = {}

    def of_agent(self, principal: Principal, agent_id: str) -> Overview:
        """An agent's figures, counted at most ``fresh_s`` seconds ago (the waiting runs and the
        queue are counted on every call)."""
        principal.require(agent_id, "agent")
        if self.store.agents.get(agent_id) is None:
            raise NotFound("The agent was not found.")
        recent = self._recent.get(agent_id)
        if recent is not None and time.monotonic() - recent[0] < self.fresh_s:
            figures = recent[1]
        else:
            figures = self._count(agent_id)
            if len(self._recent) > 1000:
                self._recent.clear()
            self._recent[agent_id] = (time.monotonic(), figures)
        return dataclasses.replace(
            figures,
            waiting=self.store.guidance.count_waiting(agent_id),
            queued=self.store.execution.queued(agent_id),
        )

    def _count(self, agent_id: str) -> Overview:
        now = utcnow()
        today = now.date()
        since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS - 1)
        days, per_day, per_process = by_day(self.store.runs.per_day(agent_id, since), today)
        names = {p.id: p.name for p in self.store.processes.page(agent_id, limit=1000)}
        busiest = sorted(per_process.items(), key=lambda item: -sum(item[1].values()))[:MAX_PROCESSES]
        records = []
        for process_id, counts in busiest:
            durations = self.store.runs.durations(process_id, since, limit=DURATION_SAMPLE)
            ended = sum(n for s, n in counts.items() if s.is_final)
            records.append(
                ProcessRecord(
                    process_id=process_id,
                    name=names.get(process_id, process_id),
                    runs=sum(counts.values()),
                    succeeded=counts.get(RunState.SUCCEEDED, 0),
                    ended=ended,
                    p50_s=percentile(durations, 0.50),
                    p95_s=percentile(durations, 0.95),
                )
            )
        return Overview(
            days=days,
            per_day=per_day,
            processes=records,
            waiting=0,
            queued=0,
            total=sum(sum(v) for v in per_day.values()),
        )
