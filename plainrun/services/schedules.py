"""Schedules: a published process run by itself, on a preset or a cron expression in a time zone.

A schedule belongs to one process of one agent and runs its **published** version (a Draft never
runs on a schedule), with the inputs the schedule gives. Kinds: ``hourly`` (at ``minute``),
``daily`` (``at`` HH:MM), ``weekly`` (``day`` and ``at``), ``every`` (``every_minutes``) and
``cron`` (five fields, or six with seconds); see ``plainrun.scheduler.timing`` for what each does
across daylight-saving changes.

Schedulers call ``fire_due``: each due slot is fired once across any number of schedulers (the
database's unique constraint decides) and its run is written in the same transaction. Slots missed
while every scheduler was down follow the schedule's catch-up policy: ``skip``, ``latest`` (run the
latest missed slot once) or ``all_within`` (run each missed slot at most ``window_s`` old).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plainrun import ids
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound, PlainrunError
from plainrun.scheduler.timing import POLICIES, Timing, due_slots
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.processes import ProcessService
from plainrun.services.runs import RunService, normalize_inputs
from plainrun.store import schedules as store_schedules
from plainrun.store.records import NewRun
from plainrun.store.schedules import Fire, Schedule
from plainrun.store.sql import SqlStore, utcnow

MAX_LIST = 100
DEFAULT_WINDOW_S = 24 * 3600
MAX_WINDOW_S = 7 * 24 * 3600
_TIMING_FIELDS = ("at", "day", "minute", "every_minutes", "cron")


@dataclass(frozen=True, slots=True)
class CatchUp:
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


def _input_key(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def slot_ref(schedule_id: str, slot_at: datetime) -> str:
    """A scheduled run's ``trigger_ref``: the schedule and its slot, ``<id>@2024-06-04T08:30:00Z``."""
    return f"{schedule_id}@{slot_at.isoformat().replace('+00:00', 'Z')}"


class ScheduleService:
    def __init__(
        self,
        store: SqlStore,
        processes: ProcessService,
        runs: RunService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.processes = processes
        self.runs = runs
        self.clock = clock
        #: Called (no argument, from the changing thread) when a schedule changes: in-process
        #: schedulers wake at once instead of at their next look.
        self.listeners: list[Callable[[], None]] = []

    # --- for people ------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        *,
        agent_id: str,
        process_id: str,
        name: str,
        kind: str,
        timezone: str = "UTC",
        at: str | None = None,
        day: str | None = None,
        minute: int | None = None,
        every_minutes: int | None = None,
        cron: str | None = None,
        inputs: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        catch_up: str = "skip",
        catch_up_window_s: int | None = None,
        enabled: bool = True,
    ) -> Schedule:
        spec = {"at": at, "day": day, "minute": minute, "every_minutes": every_minutes, "cron": cron}
        timing = Timing.parse(kind, spec, timezone)
        policy = CatchUp.parse(catch_up, catch_up_window_s)
        given = normalize_inputs(inputs)
        self._check_process(principal, process_id, agent_id, given)
        schedule = store_schedules.create_schedule(
            self.store,
            agent_id=agent_id,
            process_id=process_id,
            name=_name(name),
            kind=timing.kind,
            spec=timing.spec,
            timezone=timing.timezone,
            inputs=given,
            catch_up=policy.policy,
            catch_up_window_s=policy.window_s,
            enabled=enabled,
            next_at=timing.next_after(self.clock()) if enabled else None,
        )
        self._changed()
        return schedule

    def get(self, principal: Principal, schedule_id: str) -> Schedule:
        schedule = store_schedules.get_schedule(self.store, schedule_id) if ids.is_id(schedule_id) else None
        if schedule is None or not principal.can_see(schedule.agent_id):
            raise NotFound("The schedule was not found.")
        return schedule

    def list(
        self, principal: Principal, *, agent_id: str, process_id: str | None = None, limit: int = MAX_LIST
    ) -> list[Schedule]:
        """An agent's schedules, or one process's, newest first (at most ``MAX_LIST``)."""
        self.processes.agent(principal, agent_id)
        if process_id is not None:
            self.processes.get(principal, process_id, agent_id)
        return store_schedules.list_schedules(
            self.store, agent_id, process_id=process_id, limit=min(limit, MAX_LIST)
        )

    def update(self, principal: Principal, schedule_id: str, **changes: Any) -> Schedule:
        """Change a schedule; fields left out (or None) keep their value.

        Changing when it fires (``kind``, a timing field or ``timezone``), or enabling it, starts it
        afresh from now: slots before the change are not caught up.
        """
        current = self.get(principal, schedule_id)
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {
            "name", "kind", "timezone", "inputs", "catch_up", "catch_up_window_s", "enabled", *_TIMING_FIELDS
        }  # fmt: skip
        if unknown:
            raise InvalidInput("Unknown schedule fields.", details=[("field", f) for f in sorted(unknown)])
        values: dict[str, Any] = {}
        if "name" in changes:
            values["name"] = _name(changes["name"])
        retimed = bool({"kind", "timezone", *_TIMING_FIELDS} & set(changes))
        timing = Timing.parse(current.kind, current.spec, current.timezone)
        if retimed:
            kind = changes.get("kind", current.kind)
            base = current.spec if kind == current.kind else {}
            spec = {**base, **{f: changes[f] for f in _TIMING_FIELDS if f in changes}}
            timing = Timing.parse(kind, spec, changes.get("timezone", current.timezone))
            values.update(kind=timing.kind, spec=timing.spec, timezone=timing.timezone)
        if "catch_up" in changes or "catch_up_window_s" in changes:
            policy = CatchUp.parse(
                changes.get("catch_up", current.catch_up),
                changes.get("catch_up_window_s", current.catch_up_window_s),
            )
            values.update(catch_up=policy.policy, catch_up_window_s=policy.window_s)
        if "inputs" in changes:
            values["inputs"] = normalize_inputs(changes["inputs"])
        self._check_process(
            principal, current.process_id, current.agent_id, values.get("inputs", current.inputs)
        )
        enabled = bool(changes.get("enabled", current.enabled))
        values["enabled"] = enabled
        if not enabled:
            values["next_at"] = None
        elif retimed or not current.enabled:
            values["next_at"] = timing.next_after(self.clock())
        updated = store_schedules.update_schedule(self.store, current.id, **values)
        self._changed()
        return updated

    def set_enabled(self, principal: Principal, schedule_id: str, enabled: bool) -> Schedule:
        return self.update(principal, schedule_id, enabled=enabled)

    def delete(self, principal: Principal, schedule_id: str) -> None:
        schedule = self.get(principal, schedule_id)
        store_schedules.delete_schedule(self.store, schedule.id)
        self._changed()

    def next_fire_times(self, schedule: Schedule, count: int = 5) -> list[datetime]:
        """The next slots that will fire (none when disabled)."""
        if not schedule.enabled:
            return []
        timing = Timing.parse(schedule.kind, schedule.spec, schedule.timezone)
        after = self.clock()
        if schedule.next_at is not None and schedule.next_at <= after:  # due: fires at the next look
            return [schedule.next_at, *timing.next_times(schedule.next_at, count - 1)]
        return timing.next_times(after, count)

    def fires(self, principal: Principal, schedule_id: str, limit: int = MAX_LIST) -> list[Fire]:
        schedule = self.get(principal, schedule_id)
        return store_schedules.list_fires(self.store, schedule.id, limit=min(limit, MAX_LIST))

    # --- for schedulers --------------------------------------------------------------------

    def earliest_next(self) -> datetime | None:
        return store_schedules.earliest_next(self.store)

    def fire_due(self, now: datetime | None = None) -> list[Fire]:
        """Fire every due slot of every enabled schedule (those this call won) and move each on."""
        now = now or self.clock()
        fired: list[Fire] = []
        for schedule in store_schedules.due_schedules(self.store, now):
            assert schedule.next_at is not None
            timing = Timing.parse(schedule.kind, schedule.spec, schedule.timezone)
            slots = due_slots(timing, schedule.catch_up, schedule.catch_up_window_s, schedule.next_at, now)
            start = self._starter(schedule)
            for slot in slots:
                run, error = start(slot)
                done = store_schedules.fire(self.store, schedule, slot, run=run, error=error)
                if done is not None:
                    fired.append(done)
            store_schedules.advance(self.store, schedule, timing.next_after(now))
        return fired

    # --- helpers ---------------------------------------------------------------------------

    def _starter(self, schedule: Schedule) -> Callable[[datetime], tuple[NewRun | None, str | None]]:
        """What a slot of this schedule starts: the run of the published version as of now."""
        try:
            process, version, sha256 = self.processes.for_run(
                SYSTEM, schedule.process_id, schedule.agent_id, Stage.PUBLISHED
            )
        except PlainrunError as exc:
            message = exc.message
            return lambda _slot: (None, message)
        timeout = float(process.settings.get("timeout_s") or self.runs.timeout_s)

        def start(slot: datetime) -> tuple[NewRun | None, str | None]:
            return NewRun(
                id=ids.new_id(),
                agent_id=schedule.agent_id,
                process_id=schedule.process_id,
                name=schedule.name,
                stage=Stage.PUBLISHED,
                version=version,
                sha256=sha256,
                inputs=list(schedule.inputs),
                file_ids=[],
                trigger=Trigger.SCHEDULE,
                trigger_ref=slot_ref(schedule.id, slot),
                max_attempts=self.runs.max_attempts,
                timeout_s=timeout,
                created_at=utcnow(),
            ), None

        return start

    def _check_process(
        self, principal: Principal, process_id: str, agent_id: str, inputs: Sequence[Mapping[str, Any]]
    ) -> None:
        """The process exists for the caller, is published, and gets every input it needs."""
        found = self.store.get_process_for_run(process_id) if ids.is_id(process_id) else None
        if found is None or not principal.can_see(found[0].agent_id) or found[0].agent_id != agent_id:
            raise NotFound("The process was not found.")
        process, published_sha256 = found
        if process.published_version is None or published_sha256 is None:
            raise InvalidInput(
                "Only a published process can be scheduled: publish it first "
                "(a Draft never runs on a schedule).",
                details=[("process_id", process_id)],
            )
        needed = self.processes.inspect_stored(published_sha256).inputs
        given = {_input_key(i["name"]) for i in inputs}
        missing = [name for name in needed if _input_key(name) not in given]
        if missing:
            raise InvalidInput(
                "The schedule must give every input the published process needs.",
                details=[("input", name) for name in missing],
            )

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()


def _name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("A schedule's name is 1 to 100 characters.", details=[("name", str(name)[:100])])
    return name.strip()
