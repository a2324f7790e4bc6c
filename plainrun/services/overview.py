"""An agent's home page: its runs of the last 30 days in figures (see ``domain/overview.py``).

Past days come from the store's roll-up (``store.days``): a day that ended ``SETTLE`` ago and was
not counted yet is counted on the first read that needs it, once; today (and a day not settled
yet), and the runs of counted days that had not ended then, are read afresh on every count.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import date, timedelta

from plainrun.domain.clock import utcnow
from plainrun.domain.overview import (
    DAYS,
    SETTLE,
    Overview,
    Tally,
    count_days,
    day_of,
    figures,
    first_id,
    tally,
)
from plainrun.errors import NotFound
from plainrun.services.access import Principal
from plainrun.store import Store

#: How long an agent's figures are reused before they are counted again (0: counted on every read).
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
            counted = recent[1]
        else:
            counted = self._count(agent_id)
            if len(self._recent) > 1000:
                self._recent.clear()
            self._recent[agent_id] = (time.monotonic(), counted)
        return dataclasses.replace(
            counted,
            waiting=self.store.guidance.count_waiting(agent_id),
            queued=self.store.execution.queued(agent_id),
        )

    def _count(self, agent_id: str) -> Overview:
        now = utcnow()
        today = now.date()
        first = today - timedelta(days=DAYS - 1)
        days, tallies = self.store.days.counted(agent_id, first)
        # The last day read from the roll-up: settled by this host's clock, or counted already by a
        # host whose clock runs ahead (a day is never both counted and read afresh).
        settled = max([(now - SETTLE).date() - timedelta(days=1), *days])
        missing = [d for d in _days(first, settled) if d not in days]
        extra: list[Tally] = []
        if missing:
            tallies, extra = self._count_days(agent_id, first, missing)
        fresh = self.store.days.facts(agent_id, first_id(settled + timedelta(days=1)))
        fresh += self.store.days.open_facts(agent_id, first)
        names = {p.id: p.name for p in self.store.processes.page(agent_id, limit=1000)}
        return figures([*tallies, *extra, *tally(fresh)], today, names)

    def _count_days(self, agent_id: str, first: date, missing: list[date]) -> tuple[list[Tally], list[Tally]]:
        """Count the days missing from the roll-up; the roll-up's tallies then, and those of any day
        that still is not in it (counted here from what was read)."""
        facts = self.store.days.facts(
            agent_id, first_id(missing[0]), first_id(missing[-1] + timedelta(days=1))
        )
        self.store.days.record(agent_id, count_days(facts, missing), forget_before=first - timedelta(days=1))
        days, tallies = self.store.days.counted(agent_id, first)
        left = set(missing) - days
        return tallies, tally(f for f in facts if day_of(f.id) in left)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
