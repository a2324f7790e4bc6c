"""An agent's home page: its runs of the last 30 days in figures (see ``domain/overview.py``).

Past days come from the store's roll-up (``store.days``): a day that ended ``SETTLE`` ago and was
not counted yet is counted on the first read that needs it, once; today (and a day not settled
yet), and the runs of counted days that had not ended then, are read afresh on every count. A
counted day never changes, so its tallies are kept in memory once read.
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
    RunFacts,
    Tally,
    count_day,
    figures,
    merge_durations,
    tally,
)
from plainrun.errors import NotFound
from plainrun.services.access import Principal
from plainrun.store import Store

#: How long an agent's figures are reused before they are counted again (0: counted on every read).
FRESH_S = 15.0
#: The most agents whose counted days are kept in memory.
AGENTS_KEPT = 1000


class OverviewService:
    def __init__(self, store: Store, fresh_s: float = FRESH_S):
        self.store = store
        self.fresh_s = fresh_s
        self._recent: dict[str, tuple[float, Overview]] = {}
        #: Each agent's counted days read so far, and their tallies.
        self._days: dict[str, dict[date, list[Tally]]] = {}
        self._merged: dict[str, tuple[frozenset[date], list[Tally], dict[str, dict[int, int]]]] = {}

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
            if len(self._recent) > AGENTS_KEPT:
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
        # The last day read from the roll-up, settled by this host's clock: a later one that a host
        # whose clock runs ahead counted is read afresh here (never both counted and read afresh).
        settled = (now - SETTLE).date() - timedelta(days=1)
        days = self._counted(agent_id, first, settled)
        fresh: list[RunFacts] = []
        missing = [d for d in _days(first, settled) if d not in days]
        if missing:
            fresh = self._count_days(agent_id, first, missing)
            days = self._counted(agent_id, first, settled)
            fresh = [f for f in fresh if f.day not in days]  # a day that could not be recorded
        for day in _days(settled + timedelta(days=1), today):
            fresh += self.store.days.facts(agent_id, day)
        fresh += [f for f in self.store.days.open_facts(agent_id, first) if f.day <= settled]
        names = {p.id: p.name for p in self.store.processes.page(agent_id, limit=1000)}
        counts, durations = self._merged_days(agent_id, days)
        return figures([*counts, *tally(fresh)], today, names, durations=durations)

    def _merged_days(
        self, agent_id: str, days: dict[date, list[Tally]]
    ) -> tuple[list[Tally], dict[str, dict[int, int]]]:
        """The counted days' tallies without their sketches, and the sketches merged per process
        (merged once for each set of days)."""
        key = frozenset(days)
        kept = self._merged.get(agent_id)
        if kept is None or kept[0] != key:
            tallies = [t for ts in days.values() for t in ts]
            bare = [dataclasses.replace(t, durations={}) for t in tallies]
            kept = self._merged[agent_id] = (key, bare, merge_durations(tallies))
        return kept[1], kept[2]

    def _counted(self, agent_id: str, first: date, last: date) -> dict[date, list[Tally]]:
        """The agent's counted days from ``first`` to ``last`` with their tallies (those read before
        from memory)."""
        kept = {d: ts for d, ts in self._days.get(agent_id, {}).items() if d >= first}
        days, tallies = self.store.days.counted(agent_id, first, known=kept.keys())
        for day in days - kept.keys():
            kept[day] = []
        for one in tallies:
            kept[one.day].append(one)
        if len(self._days) > AGENTS_KEPT:
            self._days.clear()
            self._merged.clear()
        self._days[agent_id] = kept
        return {d: ts for d, ts in kept.items() if d <= last}

    def _count_days(self, agent_id: str, first: date, missing: list[date]) -> list[RunFacts]:
        """Count the days missing from the roll-up into it; the runs read to count them."""
        read = {day: self.store.days.facts(agent_id, day) for day in missing}
        counts = [count_day(day, facts) for day, facts in read.items()]
        self.store.days.record(agent_id, counts, forget_before=first - timedelta(days=1))
        return [f for facts in read.values() for f in facts]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
