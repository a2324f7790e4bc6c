"""Schedules of a process: create, edit, enable, disable and delete them; each in words, with its
next fire times in its own zone and the runs it started."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from plainrun.domain.processes import Process
from plainrun.domain.runs import Stage
from plainrun.domain.schedules import DAYS, KINDS, POLICIES, Schedule, zone_names
from plainrun.errors import InvalidInput, NotFound
from plainrun.http.web import forms
from plainrun.http.web.forms import Typed
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages
from plainrun.services.container import Services

router = APIRouter(dependencies=[Depends(check_csrf)])

_TEXT = ("name", "kind", "timezone", "at", "day", "minute", "every_minutes", "cron", "catch_up", "window")
_NUMBERS = {"minute": "the minute", "every_minutes": "the number of minutes", "window": "the window"}
#: The field of the form each name the services refuse is about (a kind: the field it takes).
_FIELDS = {
    "policy": "catch_up",
    "catch_up_window_s": "window",
    "window_s": "window",
    "hourly": "minute",
    "daily": "at",
    "weekly": "at",
    "every": "every_minutes",
}
LIMITS = {name: 300 for name in _TEXT}


@dataclass
class ScheduleForm:
    """What the form holds: a schedule's stored values, or the values of a form sent."""

    values: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    enabled: bool = True

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleForm:
        spec = {k: str(v) for k, v in schedule.spec.items()}
        window = str(schedule.catch_up_window_s or "")
        values = {"name": schedule.name, "kind": schedule.kind, "timezone": schedule.timezone, **spec}
        values.update(catch_up=schedule.catch_up, window=window)
        return cls(values, {str(i["name"]): str(i["value"]) for i in schedule.inputs}, schedule.enabled)

    @classmethod
    def read(cls, form: Typed) -> ScheduleForm:
        values = {k: form.text(k).strip() for k in _TEXT}
        inputs = {
            key.removeprefix("input:"): v[0] for key, v in form.values.items() if key.startswith("input:")
        }
        return cls(values, inputs, bool(form.text("enabled")))

    def number(self, name: str) -> int | None:
        text = self.values.get(name, "")
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise InvalidInput(f"Give {_NUMBERS[name]} as a whole number.", details=[(name, text)]) from None

    def changes(self) -> dict[str, Any]:
        """The service's arguments: only the fields of the chosen kind."""
        kind = self.values.get("kind", "")
        fields = {
            "hourly": ("minute",),
            "daily": ("at",),
            "weekly": ("day", "at"),
            "every": ("every_minutes",),
        }
        timing: dict[str, Any] = {"cron": self.values.get("cron")} if kind == "cron" else {}
        for name in fields.get(kind, ()):
            timing[name] = self.number(name) if name in _NUMBERS else self.values.get(name)
        catch_up = self.values.get("catch_up") or "skip"
        return {
            "name": self.values.get("name", ""),
            "kind": kind,
            "timezone": self.values.get("timezone") or "UTC",
            **timing,
            "inputs": [{"name": k, "value": v} for k, v in self.inputs.items() if v != ""],
            "catch_up": catch_up,
            "catch_up_window_s": self.number("window") if catch_up == "all_within" else None,
            "enabled": self.enabled,
        }


def _field_of(name: str, value: str) -> str | None:
    """The form field a refusal is about (the service names it first in its details)."""
    if name == "input":
        return f"input:{value}"
    return _FIELDS.get(name, name if name in _TEXT else None)


def _inputs(services: Services, viewer: ViewerDep, process: Process) -> list[str]:
    try:
        return services.processes.inputs_of(viewer.principal, process, Stage.PUBLISHED)
    except InvalidInput:
        return []


def _render(
    request: Request,
    services: Services,
    viewer: ViewerDep,
    process: Process,
    stored: ScheduleForm,
    *,
    schedule: Schedule | None = None,
    form: Typed | None = None,
) -> Response:
    """The schedule's page: its stored values in the form, or ``form``, the one refused."""
    principal = viewer.principal
    fires = services.schedules.fires(principal, schedule.id, limit=50) if schedule else []
    upcoming = services.schedules.next_fire_times(schedule) if schedule else []
    tz = ZoneInfo(schedule.timezone) if schedule else None
    return pages(request).render(
        request,
        "schedule.html",
        form=form,
        process=process,
        schedule=schedule,
        summary=services.schedules.summary(schedule) if schedule else "",
        upcoming=[t.astimezone(tz) for t in upcoming],
        tz=tz,
        fires=fires,
        stored=stored,
        inputs=_inputs(services, viewer, process),
        kinds=KINDS,
        days=DAYS,
        policies=POLICIES,
        zones=zone_names(),
    )


def _read(data: FormData) -> tuple[Typed, ScheduleForm]:
    form = forms.typed("schedule", data, LIMITS)
    return form, ScheduleForm.read(form)


@router.get("/processes/{process_id}/schedules/new")
def new_schedule(request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    form = ScheduleForm({"name": f"{process.name} on a schedule"[:100], "kind": "daily", "timezone": "UTC"})
    return _render(request, services, viewer, process, form)


@router.post("/processes/{process_id}/schedules")
def create_schedule(
    request: Request, process_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    process = services.processes.get(viewer.principal, process_id)
    form, sent = _read(data)
    try:
        if form.errors:
            return _render(request, services, viewer, process, sent, form=form)
        schedule = services.schedules.create(
            viewer.principal, agent_id=process.agent_id, process_id=process.id, **sent.changes()
        )
    except InvalidInput as exc:
        return _render(request, services, viewer, process, sent, form=form.refused(exc, fields=_field_of))
    flash(request, f"Created the schedule “{schedule.name}”.")
    return RedirectResponse(f"{UI}/schedules/{schedule.id}", status_code=303)


def _schedule(services: Services, viewer: ViewerDep, schedule_id: str) -> tuple[Schedule, Process]:
    schedule = services.schedules.get(viewer.principal, schedule_id)
    return schedule, services.processes.get(viewer.principal, schedule.process_id)


@router.get("/schedules/{schedule_id}")
def schedule_page(request: Request, schedule_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    schedule, process = _schedule(services, viewer, schedule_id)
    return _render(request, services, viewer, process, ScheduleForm.of(schedule), schedule=schedule)


@router.post("/schedules/{schedule_id}")
def update_schedule(
    request: Request, schedule_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    schedule, process = _schedule(services, viewer, schedule_id)
    form, sent = _read(data)
    try:
        if form.errors:
            return _render(request, services, viewer, process, sent, schedule=schedule, form=form)
        schedule = services.schedules.update(viewer.principal, schedule.id, **sent.changes())
    except InvalidInput as exc:
        refused = form.refused(exc, fields=_field_of)
        return _render(request, services, viewer, process, sent, schedule=schedule, form=refused)
    flash(request, f"Saved the schedule “{schedule.name}”.")
    return RedirectResponse(f"{UI}/schedules/{schedule.id}", status_code=303)


@router.post("/schedules/{schedule_id}/enabled")
def enable_schedule(
    request: Request, schedule_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    schedule, process = _schedule(services, viewer, schedule_id)
    form = forms.typed("enabled", data, {"enabled": 10})
    enabled = form.text("enabled") == "true"
    try:
        schedule = services.schedules.set_enabled(viewer.principal, schedule.id, enabled)
    except InvalidInput as exc:
        refused = form.refused(exc)
        return _render(
            request, services, viewer, process, ScheduleForm.of(schedule), schedule=schedule, form=refused
        )
    flash(request, f"{'Enabled' if enabled else 'Disabled'} the schedule “{schedule.name}”.")
    return RedirectResponse(f"{UI}/schedules/{schedule.id}", status_code=303)


@router.post("/schedules/{schedule_id}/delete")
def delete_schedule(request: Request, schedule_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    try:
        schedule, process = _schedule(services, viewer, schedule_id)
    except NotFound:
        flash(request, "The schedule was already deleted.")
        return RedirectResponse(f"{UI}/", status_code=303)
    services.schedules.delete(viewer.principal, schedule.id)
    flash(request, f"Deleted the schedule “{schedule.name}”; the runs it started are kept.")
    return RedirectResponse(f"{UI}/processes/{process.id}#schedules-h", status_code=303)
