"""Schedules: what a schedule is, and when it fires (its slots as UTC instants, from a preset or a
cron expression in a time zone), and which missed slots it catches up.

Pure: no I/O and no clock; every function takes the instants it works from.

Two families of schedules, and what daylight-saving changes do to them:

- **Wall-clock schedules** (``daily``, ``weekly``, ``cron``) name local times in their IANA zone.
  A local time that does not exist (the hour skipped when clocks spring forward) fires once, at the
  first instant after the gap: a daily 02:30 in Europe/Berlin fires at 03:00 CEST on that day. A
  local time that happens twice (the hour repeated when clocks fall back) fires once, at its first
  occurrence: a daily 02:30 fires at 02:30 CEST, not again at 02:30 CET.
- **Interval schedules** (``hourly``, ``every``) are steps of real time and ignore the changes:
  ``hourly`` fires every 60 minutes when the local minute is ``minute`` (so on the fall-back day it
  fires in both 02:xx hours, and on the spring-forward day never in the missing one); ``every N
  minutes`` fires at the multiples of N minutes since 1970-01-01T00:00Z.

Cron expressions have five fields (minute hour day month weekday) or six, the sixth being seconds.
How often a schedule may fire is bounded (:meth:`Timing.check_interval`, the installation's
``min_schedule_interval_s``): a seconds field is allowed only under a bound below a minute; and a
cron of a date that never comes (``0 0 30 2 *``) is refused when it is parsed.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadDateError, croniter

from plainrun.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    agent_id: str
    process_id: str
    name: str
    kind: str
    spec: dict[str, Any]
    timezone: str
    inputs: list[dict[str, Any]]
    catch_up: str
    catch_up_window_s: int | None
    enabled: bool
    revision: int
    next_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Fire:
    """A slot dealt with: the run it started, or why none started."""

    id: str
    schedule_id: str
    slot_at: datetime
    run_id: str | None
    error: str | None
    fired_at: datetime


def slot_ref(schedule_id: str, slot_at: datetime) -> str:
    """A scheduled run's ``trigger_ref``: the schedule and its slot, ``<id>@2024-06-04T08:30:00Z``."""
    return f"{schedule_id}@{slot_at.isoformat().replace('+00:00', 'Z')}"


KINDS = ("hourly", "daily", "weekly", "every", "cron")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_EVERY_MINUTES = 7 * 24 * 60
_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def zone(name: str) -> ZoneInfo:
    """An IANA time zone by name; an unknown name is invalid input."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or name not in _zones():
        raise InvalidInput(
            "The time zone is not an IANA time zone name.", details=[("timezone", str(name)[:64])]
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unloadable
        raise InvalidInput(
            "The time zone is not an IANA time zone name.", details=[("timezone", name)]
        ) from exc


_ZONES: frozenset[str] = frozenset()


def _zones() -> frozenset[str]:
    global _ZONES
    if not _ZONES:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def zone_names() -> list[str]:
    """Every IANA time zone name, sorted (what a time-zone picker offers)."""
    return sorted(_zones())


def local_instant(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time: a time in a gap is the first instant after the gap,
    a repeated time is its first occurrence."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first <= second:  # ordinary (equal), or repeated (fold=0 is the earlier occurrence)
        return first
    # In a gap fold=0 lands after the transition and fold=1 before it: the gap ends in between.
    lo, hi = 0, int((first - second).total_seconds())  # seconds after ``second``: before, after
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (second + timedelta(seconds=mid)).astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return second + timedelta(seconds=hi)


@dataclass(frozen=True, slots=True)
class Timing:
    """A schedule's slots: ``kind`` with its ``spec`` (at, day, minute, every_minutes, cron) in a zone."""

    kind: str
    spec: dict[str, Any]
    timezone: str

    @classmethod
    def parse(cls, kind: str, spec: dict[str, Any], timezone: str) -> Timing:
        """Check a kind and its fields, keeping only the fields the kind uses."""
        zone(timezone)
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}.", details=[("kind", str(kind)[:20])])
        kept: dict[str, Any] = {}
        if kind == "hourly":
            minute = spec.get("minute") or 0
            if isinstance(minute, bool) or not isinstance(minute, int) or not 0 <= minute <= 59:
                raise InvalidInput(
                    "An hourly schedule's minute is 0 to 59.", details=[("minute", str(minute))]
                )
            kept["minute"] = minute
        if kind in ("daily", "weekly"):
            at = spec.get("at")
            if not isinstance(at, str) or not _AT.match(at):
                raise InvalidInput(
                    f"A {kind} schedule needs at, a local time HH:MM (00:00 to 23:59).",
                    details=[("at", str(at)[:20])],
                )
            kept["at"] = at
        if kind == "weekly":
            day = spec.get("day")
            found = [d for d in DAYS if isinstance(day, str) and len(day) >= 3 and d.startswith(day.lower())]
            if len(found) != 1:
                raise InvalidInput(
                    "A weekly schedule needs day, monday to sunday.", details=[("day", str(day)[:20])]
                )
            kept["day"] = found[0]
        if kind == "every":
            every = spec.get("every_minutes")
            if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= MAX_EVERY_MINUTES:
                raise InvalidInput(
                    f"every_minutes is a whole number from 1 to {MAX_EVERY_MINUTES}.",
                    details=[("every_minutes", str(every)[:20])],
                )
            kept["every_minutes"] = every
        if kind == "cron":
            expr = spec.get("cron")
            if (
                not isinstance(expr, str)
                or len(expr) > 200
                or len(expr.split()) not in (5, 6)
                or not croniter.is_valid(expr)
            ):
                raise InvalidInput(
                    "cron is an expression of five fields (minute hour day month weekday) "
                    "or six (and seconds).",
                    details=[("cron", str(expr)[:200])],
                )
            kept["cron"] = " ".join(expr.split())
            _check_fires(kept["cron"])
        return cls(kind=kind, spec=kept, timezone=timezone)

    def shortest_gap_s(self) -> int:
        """The shortest time between two slots, in seconds (for a cron, of its times of day: the
        gaps between them, and from the day's last to the next day's first)."""
        if self.kind == "every":
            return int(self.spec["every_minutes"]) * 60
        if self.kind == "hourly":
            return 3600
        expression = self.expression
        assert expression is not None
        return _cron_gap_s(expression)

    def check_interval(self, min_interval_s: int) -> Timing:
        """This timing, when it fires at most once every ``min_interval_s`` seconds; else invalid
        input (a cron with a seconds field too, when the bound is a minute or more)."""
        if self.kind == "cron" and len(self.spec["cron"].split()) == 6 and min_interval_s >= 60:
            raise InvalidInput(
                "cron is an expression of five fields (minute hour day month weekday); "
                "a seconds field is not allowed.",
                details=[("cron", self.spec["cron"])],
            )
        gap = self.shortest_gap_s()
        if gap < min_interval_s:
            raise InvalidInput(
                f"A schedule fires at most once every {min_interval_s} seconds "
                "(PLAINRUN_MIN_SCHEDULE_INTERVAL_S); this one would fire "
                f"{gap} seconds apart.",
                details=[(self.kind, str(self.spec.get(self.kind, self.spec))[:200])],
            )
        return self

    @property
    def expression(self) -> str | None:
        """The wall-clock cron expression of a daily, weekly or cron schedule."""
        if self.kind == "cron":
            return str(self.spec["cron"])
        if self.kind in ("daily", "weekly"):
            hour, minute = (int(x) for x in self.spec["at"].split(":"))
            weekday = (DAYS.index(self.spec["day"]) + 1) % 7 if self.kind == "weekly" else "*"
            return f"{minute} {hour} * * {weekday}"
        return None

    def next_after(self, after: datetime) -> datetime:
        """The first slot strictly after an instant (aware), in UTC."""
        after = after.astimezone(UTC)
        if self.kind == "every":
            step = self.spec["every_minutes"] * 60
            count = int((after - _EPOCH).total_seconds() // step) + 1
            return _EPOCH + timedelta(seconds=count * step)
        tz = zone(self.timezone)
        if self.kind == "hourly":
            return _next_local_minute(after, tz, self.spec["minute"])
        expression = self.expression
        assert expression is not None
        cron = croniter(expression, after.astimezone(tz).replace(tzinfo=None))
        try:
            for _ in range(100_000):  # more than a repeated hour of a seconds schedule
                instant = local_instant(cron.get_next(datetime), tz)
                if instant > after:
                    return instant
        except (CroniterBadDateError, OverflowError) as exc:  # a date that never comes (again)
            raise InvalidInput("The schedule has no next slot.", details=[("cron", expression)]) from exc
        raise InvalidInput("The schedule has no next slot.")  # pragma: no cover

    def next_times(self, after: datetime, count: int = 5) -> list[datetime]:
        out: list[datetime] = []
        for _ in range(count):
            after = self.next_after(after)
            out.append(after)
        return out

    def slots_between(self, lo: datetime, hi: datetime, limit: int) -> list[datetime]:
        """The slots in [lo, hi], oldest first; only the latest ``limit`` when there are more."""
        kept: deque[datetime] = deque(maxlen=limit)
        slot = self.next_after(lo - _TICK)
        while slot <= hi:
            kept.append(slot)
            slot = self.next_after(slot)
        return list(kept)

    def latest_between(self, lo: datetime, hi: datetime) -> datetime | None:
        """The latest slot in [lo, hi], found by looking back 1 s, 2 s, 4 s … from ``hi``."""
        reach = timedelta(seconds=1)
        while True:
            start = max(lo - _TICK, hi - reach)
            slot = self.next_after(start)
            if slot <= hi:
                while (later := self.next_after(slot)) <= hi:
                    slot = later
                return slot
            if start <= lo - _TICK:
                return None
            reach *= 2


def _check_fires(expression: str) -> None:
    """A cron expression that names a date that comes (``0 0 30 2 *`` never does) or invalid input."""
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterBadDateError, OverflowError) as exc:
        raise InvalidInput(
            "The cron expression names a date that never comes.", details=[("cron", expression)]
        ) from exc


def _cron_gap_s(expression: str) -> int:
    """The shortest gap between the times of day a cron expression fires at, in seconds, counting
    the gap from the day's last time to the next day's first."""
    expanded = croniter(expression).expanded
    seconds = expanded[5] if len(expanded) > 5 else [0]
    times = sorted(
        {
            hour * 3600 + minute * 60 + second
            for hour in _values(expanded[1], 24)
            for minute in _values(expanded[0], 60)
            for second in _values(seconds, 60)
        }
    )
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return min([*gaps, 86400 - times[-1] + times[0]])


def _values(field: list[Any], count: int) -> list[int]:
    """A croniter field expanded to its numbers (``*`` is every one)."""
    return list(range(count)) if field == ["*"] else [int(v) for v in field]


def _next_local_minute(after: datetime, tz: ZoneInfo, minute: int) -> datetime:
    """The first whole minute strictly after ``after`` whose local minute is ``minute``."""
    candidate = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(4):
        local = candidate.astimezone(tz)
        candidate += timedelta(minutes=(minute - local.minute) % 60)
        if candidate.astimezone(tz).minute == minute:
            return candidate
    for _ in range(24 * 60):  # pragma: no cover - a zone whose offset keeps moving the minute
        candidate += timedelta(minutes=1)
        if candidate.astimezone(tz).minute == minute:
            return candidate
    raise InvalidInput("The schedule has no next slot.")  # pragma: no cover


# --- catch-up ------------------------------------------------------------------------------------

POLICIES = ("skip", "latest", "all_within")
DEFAULT_WINDOW_S = 24 * 3600
MAX_WINDOW_S = 7 * 24 * 3600
#: A slot no scheduler reached within this long after its time is *missed* (the catch-up policy decides).
GRACE = timedelta(seconds=60)
#: At most this many missed slots of one schedule are run by ``all_within`` (the latest ones).
MAX_CATCH_UP = 1000


def due_slots(
    timing: Timing, policy: str, window_s: int | None, next_at: datetime, now: datetime
) -> list[datetime]:
    """The slots to fire now, oldest first, of those in [next_at, now].

    Slots at most ``GRACE`` old are on time and always fire. Older ones were missed (every scheduler
    was down) and fire by the policy: ``skip`` none of them, ``latest`` the most recent one when no
    slot is on time, ``all_within`` each one at most ``window_s`` old (the latest ``MAX_CATCH_UP``).
    """
    if next_at > now:
        return []
    if policy == "all_within":
        window = timedelta(seconds=max(window_s or 0, GRACE.total_seconds()))
        return timing.slots_between(max(next_at, now - window), now, MAX_CATCH_UP)
    on_time = timing.slots_between(max(next_at, now - GRACE), now, MAX_CATCH_UP)
    if on_time or policy == "skip":
        return on_time
    latest = timing.latest_between(next_at, now)
    return [latest] if latest is not None else []


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What a schedule does with slots missed while every scheduler was down."""

    policy: str = "skip"
    window_s: int | None = None

    @classmethod
    def parse(cls, policy: str, window_s: int | None) -> CatchUp:
        if policy not in POLICIES:
            raise InvalidInput(
                f"The catch-up policy is one of {', '.join(POLICIES)}.",
                details=[("policy", str(policy)[:20])],
            )
        if policy != "all_within":
            return cls(policy, None)
        window = DEFAULT_WINDOW_S if window_s is None else window_s
        if isinstance(window, bool) or not isinstance(window, int) or not 60 <= window <= MAX_WINDOW_S:
            raise InvalidInput(
                f"The catch-up window_s is 60 to {MAX_WINDOW_S} seconds.", details=[("window_s", str(window))]
            )
        return cls(policy, window)
