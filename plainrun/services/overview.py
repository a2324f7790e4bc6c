"""An agent's home page: its runs of the last 30 days in figures (see ``domain/overview.py``)."""

from __future__ import annotations

from datetime import timedelta

from plainrun.domain.clock import utcnow
from plainrun.domain.overview import DAYS, Overview, ProcessRecord, by_day, percentile
from plainrun.domain.runs import RunQuery, RunState
from plainrun.errors import NotFound
from plainrun.services.access import Principal
from plainrun.store import Store

#: The newest succeeded runs of each process whose durations make its p50 and p95.
DURATION_SAMPLE = 1000
#: The most processes a home page gives a record of (those with the most runs).
MAX_PROCESSES = 50


class OverviewService:
    def __init__(self, store: Store):
        self.store = store

    def of_agent(self, principal: Principal, agent_id: str) -> Overview:
        principal.require(agent_id, "agent")
        if self.store.agents.get(agent_id) is None:
            raise NotFound("The agent was not found.")
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
            waiting=self.store.guidance.count_waiting(agent_id),
            queued=self.store.runs.count(
                RunQuery(agent_id=agent_id, states=(RunState.PENDING,), archived=False)
            ),
            total=sum(sum(v) for v in per_day.values()),
        )
