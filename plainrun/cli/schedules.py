"""``plainrun scheduler`` (fire due slots until SIGTERM; run many) and ``plainrun schedules …``.

Mount with ``schedules.register(app)``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from rich.table import Table

from plainrun.cli._common import console, services
from plainrun.cli.runs import parse_inputs
from plainrun.domain.schedules import Schedule
from plainrun.http.api import render
from plainrun.services.access import SYSTEM
from plainrun.triggers.scheduler import Scheduler

app = typer.Typer(help="Schedules: run a published process by itself.", no_args_is_help=True)


def _when(s: Schedule) -> str:
    spec = " ".join(f"{k}={v}" for k, v in s.spec.items())
    return f"{s.kind} {spec} {s.timezone}"


def _show(s: Schedule, next_times: list[str]) -> None:
    state = "enabled" if s.enabled else "disabled"
    console.print(f"schedule {s.id}  {s.name!r}  {_when(s)}  {state}", highlight=False)
    console.print(f"  process {s.process_id}  inputs {s.inputs}  catch-up {s.catch_up}", highlight=False)
    for at in next_times:
        console.print(f"  next {at}", highlight=False)


@app.command("create")
def create(
    process_id: str,
    cron: Annotated[str | None, typer.Option(help='A cron expression, e.g. "30 2 * * *"')] = None,
    daily: Annotated[str | None, typer.Option(help="Every day at HH:MM")] = None,
    weekly: Annotated[str | None, typer.Option(help='Every week on a day at HH:MM: "monday 09:00"')] = None,
    hourly: Annotated[int | None, typer.Option(help="Every hour at this minute")] = None,
    every: Annotated[int | None, typer.Option(help="Every N minutes")] = None,
    tz: Annotated[str, typer.Option("--tz", help="An IANA time zone")] = "UTC",
    input: Annotated[list[str] | None, typer.Option("--input", "-i", help="name=value (repeatable)")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the schedule and its runs")] = None,
    catch_up: Annotated[str, typer.Option(help="skip, latest or all_within (missed slots)")] = "skip",
    window: Annotated[int | None, typer.Option(help="Seconds back all_within catches up")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled")] = False,
) -> None:
    """Schedule a published process: exactly one of --cron, --daily, --weekly, --hourly, --every."""
    chosen = {k: v for k, v in {"cron": cron, "daily": daily, "weekly": weekly, "hourly": hourly,
                                "every": every}.items() if v is not None}  # fmt: skip
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --cron, --daily, --weekly, --hourly, --every")
    ((kind, value),) = chosen.items()
    fields: dict[str, object] = {}
    if kind == "cron":
        fields["cron"] = value
    elif kind == "daily":
        fields["at"] = value
    elif kind == "weekly":
        day, _, at = str(value).partition(" ")
        fields.update(day=day, at=at.strip())
    elif kind == "hourly":
        fields["minute"] = value
    else:
        fields["every_minutes"] = value
    inputs = parse_inputs(input or [])
    with services() as s:
        process = s.processes.get(SYSTEM, process_id)
        schedule = s.schedules.create(
            SYSTEM,
            agent_id=process.agent_id,
            process_id=process.id,
            name=name or process.name,
            kind=kind,
            timezone=tz,
            inputs=inputs,
            catch_up=catch_up,
            catch_up_window_s=window,
            enabled=not disabled,
            **fields,  # type: ignore[arg-type]
        )
        next_times = [render.ts(t) or "" for t in s.schedules.next_fire_times(schedule)]
    _show(schedule, next_times)


@app.command("list")
def list_(process_id: str) -> None:
    """A process's schedules, newest first, with each one's next fire time."""
    with services() as s:
        process = s.processes.get(SYSTEM, process_id)
        items = s.schedules.of_agent(SYSTEM, agent_id=process.agent_id, process_id=process.id)
        rows = [(i, s.schedules.next_fire_times(i, 1)) for i in items]
    table = Table("name", "when", "enabled", "next (UTC)", "catch-up")
    table.add_column("id", no_wrap=True)
    for item, upcoming in rows:
        table.add_row(
            item.name,
            _when(item),
            "yes" if item.enabled else "no",
            render.ts(upcoming[0]) if upcoming else "",
            item.catch_up,
            item.id,
        )
    console.print(table)


@app.command("show")
def show(schedule_id: str) -> None:
    """A schedule and its next five fire times."""
    with services() as s:
        schedule = s.schedules.get(SYSTEM, schedule_id)
        next_times = [render.ts(t) or "" for t in s.schedules.next_fire_times(schedule)]
    _show(schedule, next_times)


@app.command("enable")
def enable(schedule_id: str) -> None:
    """Enable a schedule: it fires from the next slot on (missed slots are not caught up)."""
    with services() as s:
        schedule = s.schedules.set_enabled(SYSTEM, schedule_id, True)
        next_times = [render.ts(t) or "" for t in s.schedules.next_fire_times(schedule)]
    _show(schedule, next_times)


@app.command("disable")
def disable(schedule_id: str) -> None:
    """Disable a schedule: it fires no more until enabled."""
    with services() as s:
        schedule = s.schedules.set_enabled(SYSTEM, schedule_id, False)
    _show(schedule, [])


@app.command("delete")
def delete(schedule_id: str) -> None:
    """Delete a schedule (the runs it started stay)."""
    with services() as s:
        s.schedules.delete(SYSTEM, schedule_id)
    console.print(f"deleted {schedule_id}", highlight=False)


async def run_scheduler(scheduler: Scheduler) -> None:
    """Run until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await scheduler.run(stop)


def scheduler() -> None:
    """Fire due schedule slots until stopped (SIGTERM); run as many as you like, anywhere."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with services() as s:
        console.print("scheduler started; SIGTERM stops it", highlight=False)
        asyncio.run(run_scheduler(Scheduler(s.schedules)))


def register(root: typer.Typer) -> None:
    root.command("scheduler")(scheduler)
    root.add_typer(app, name="schedules")
