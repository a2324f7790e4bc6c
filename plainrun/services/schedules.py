"""Schedules: a published process run by itself, on a preset or a cron expression in a time zone.

A schedule belongs to one process of one agent and runs its **published** version (a Draft never
runs on a schedule), with the inputs the schedule gives. Kinds: ``hourly`` (at ``minute``),
``daily`` (``at`` HH:MM), ``weekly`` (``day`` and ``at``), ``every`` (``every_minutes``) and
``cron`` (five fields; six, the last the seconds, only where the installation's
``min_schedule_interval_s`` is under a minute); see ``plainrun.domain.schedules`` for what each does
across daylight-saving changes.

Schedulers call ``fire_due``: each due slot is fired once across any number of schedulers (the
database's unique constraint decides) and its run is written in the same transaction. Slots missed
while every scheduler was down follow the schedule's catch-up policy: ``skip``, ``latest`` (run the
latest missed slot once) or ``all_within`` (run each missed slot at most ``window_s`` old).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.runs import NewRun, Stage, Trigger
from plainrun.domain.schedule_words import describe
from plainrun.domain.schedules import CatchUp, Fire, Schedule, Timing, due_slots, slot_ref
from plainrun.errors import InvalidInput, NotFound, PlainrunError, StoreError
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.processes import ProcessService
from plainrun.services.runs import RunRequest, RunService, input_key, normalize_inputs
from plainrun.store import Store

MAX_LIST = 100
#: A schedule whose slots could not be worked out (an error of its own) is looked at again this late.
RETRY_AFTER = timedelta(minutes=1)
log = logging.getLogger(__name__)
_TIMING_FIELDS = ("at", "day", "minute", "every_minutes", "cron")


class ScheduleService:
    def __init__(
        self,
        store: Store,
        processes: ProcessService,
        runs: RunService,
        *,
        clock: Callable[[], datetime] = utcnow,
        min_interval_s: int = 60,
    ):
        self.store = store
        #: A schedule fires at most once every this many seconds.
        self.min_interval_s = min_interval_s
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
        timing = Timing.parse(kind, spec, timezone).check_interval(self.min_interval_s)
        policy = CatchUp.parse(catch_up, catch_up_window_s)
        given = normalize_inputs(inputs)
        self._check_process(principal, process_id, agent_id, given)
        schedule = self.store.schedules.create(
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
        schedule = self.store.schedules.get(schedule_id) if ids.is_id(schedule_id) else None
        if schedule is None or not principal.can_see(schedule.agent_id):
            raise NotFound("The schedule was not found.")
        return schedule

    def of_agent(
        self, principal: Principal, *, agent_id: str, process_id: str | None = None, limit: int = MAX_LIST
    ) -> list[Schedule]:
        """An agent's schedules, or one process's, newest first (at most ``MAX_LIST``)."""
        self.processes.agents.get(principal, agent_id)
        if process_id is not None:
            self.processes.get(principal, process_id, agent_id)
        return self.store.schedules.of_agent(agent_id, process_id=process_id, limit=min(limit, MAX_LIST))

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
            timing.check_interval(self.min_interval_s)
            values.update(kind=timing.kind, spec=timing.spec, timezone=timing.timezone)
        if "catch_up" in changes or "catch_up_window_s" in changes:
            policy = CatchUp.parse(
                changes.get("catch_up", current.catch_up),
                changes.get("catch_up_window_s", current.catch_up_window_s),
            )
            values.update(catch_up=policy.policy, catch_up_window_s=policy.window_s)
        if "inputs" in changes:
            values["inputs"] = normalize_inputs(changes["inputs"])
        enabled = bool(changes.get("enabled", current.enabled))
        if enabled:  # it will start runs: of a published version, with every input that one needs
            self._check_process(
                principal, current.process_id, current.agent_id, values.get("inputs", current.inputs)
            )
        values["enabled"] = enabled
        if not enabled:
            values["next_at"] = None
        elif retimed or not current.enabled:
            values["next_at"] = timing.next_after(self.clock())
        updated = self.store.schedules.update(current.id, **values)
        self._changed()
        return updated

    def set_enabled(self, principal: Principal, schedule_id: str, enabled: bool) -> Schedule:
        return self.update(principal, schedule_id, enabled=enabled)

    def delete(self, principal: Principal, schedule_id: str) -> None:
        schedule = self.get(principal, schedule_id)
        self.store.schedules.delete(schedule.id)
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

    def summary(self, schedule: Schedule) -> str:
        """When the schedule fires, in words, with its zone ("every weekday at 09:00, Europe/Berlin")."""
        return describe(Timing.parse(schedule.kind, schedule.spec, schedule.timezone))

    def fires(self, principal: Principal, schedule_id: str, limit: int = MAX_LIST) -> list[Fire]:
        schedule = self.get(principal, schedule_id)
        return self.store.schedules.fires(schedule.id, limit=min(limit, MAX_LIST))

    # --- for schedulers --------------------------------------------------------------------

    def earliest_next(self) -> datetime | None:
        return self.store.schedules.earliest_next()

    def fire_due(self, now: datetime | None = None) -> list[Fire]:
        """Fire every due slot of every enabled schedule (those this call won) and move each on."""
        now = now or self.clock()
        fired: list[Fire] = []
        for schedule in self.store.schedules.due(now):
            try:
                fired.extend(self._fire(schedule, now))
            except StoreError:
                raise  # the database, not this schedule: the scheduler tries again
            except Exception:  # one schedule's error never stops the others
                log.exception(
                    "schedule failed",
                    extra={"action": "schedule_failed", "schedule": schedule.id},
                )
                self.store.schedules.advance(schedule, now + RETRY_AFTER)
        return fired

    def _fire(self, schedule: Schedule, now: datetime) -> list[Fire]:
        """Fire one schedule's due slots and move it on."""
        assert schedule.next_at is not None
        timing = Timing.parse(schedule.kind, schedule.spec, schedule.timezone)
        slots = due_slots(timing, schedule.catch_up, schedule.catch_up_window_s, schedule.next_at, now)
        start = self._starter(schedule)
        fired: list[Fire] = []
        for slot in slots:
            run, error = start(slot)
            done = self.store.schedules.fire(schedule, slot, run=run, error=error)
            if done is not None:
                fired.append(done)
        self.store.schedules.advance(schedule, timing.next_after(now))
        return fired

    # --- helpers ---------------------------------------------------------------------------

    def _starter(self, schedule: Schedule) -> Callable[[datetime], tuple[NewRun | None, str | None]]:
        """What a slot of this schedule starts: the run of the published version as of now."""
        request = RunRequest(
            agent_id=schedule.agent_id,
            process_id=schedule.process_id,
            stage=Stage.PUBLISHED,
            name=schedule.name,
            inputs=schedule.inputs,
            trigger=Trigger.SCHEDULE,
        )
        try:
            first = self.runs.prepare(SYSTEM, request)
        except PlainrunError as exc:
            message = exc.message
            return lambda _slot: (None, message)

        def start(slot: datetime) -> tuple[NewRun | None, str | None]:
            new = dataclasses.replace(
                first, id=ids.new_id(), trigger_ref=slot_ref(schedule.id, slot), created_at=utcnow()
            )
            return new, None

        return start

    def _check_process(
        self, principal: Principal, process_id: str, agent_id: str, inputs: Sequence[Mapping[str, Any]]
    ) -> None:
        """The process exists for the caller, is published, and gets every input it needs."""
        if not ids.is_id(process_id):
            raise NotFound("The process was not found.")
        try:
            _, runnable = self.processes.for_run(principal, process_id, agent_id, Stage.PUBLISHED)
        except InvalidInput as exc:
            raise InvalidInput(
                "Only a published process can be scheduled: publish it first "
                "(a Draft never runs on a schedule).",
                details=[("process_id", process_id)],
            ) from exc
        needed = self.processes.inspect_stored(runnable.sha256).inputs
        given = {input_key(i["name"]) for i in inputs}
        missing = [name for name in needed if input_key(name) not in given]
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
