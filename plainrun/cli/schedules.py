"""``plainrun scheduler`` (fire due slots until SIGTERM; run many) and ``plainrun schedules …``.

Mount with ``schedules.register(app)``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from plainrun.cli._common import console, services
from plainrun.cli.backend import backend
from plainrun.cli.output import JsonOption, QuietOption, print_ids, print_json, print_table
from plainrun.cli.runs import parse_inputs
from plainrun.client.models import Schedule
from plainrun.triggers.scheduler import Scheduler

app = typer.Typer(help="Schedules: run a published process by itself.", no_args_is_help=True)


def _when(s: Schedule) -> str:
    spec = " ".join(
        f"{k}={v}"
        for k in ("at", "day", "minute", "every_minutes", "cron")
        if (v := getattr(s, k)) is not None
    )
    return f"{s.kind} {spec} {s.timezone}"


def _show(s: Schedule, as_json: bool) -> None:
    if as_json:
        print_json(s)
        return
    state = "enabled" if s.enabled else "disabled"
    console.print(f"schedule {s.id}  {s.name!r}  {_when(s)}  {state}", highlight=False, markup=False)
    console.print(
        f"  process {s.process_id}  inputs {s.inputs}  catch-up {s.catch_up.policy}",
        highlight=False,
        markup=False,
    )
    for at in s.next_fire_times:
        console.print(f"  next {at.strftime('%Y-%m-%d %H:%M:%S')} UTC", highlight=False)


def _timing(kind: str, value: object) -> dict[str, object]:
    if kind == "cron":
        return {"cron": value}
    if kind == "daily":
        return {"at": value}
    if kind == "weekly":
        day, _, at = str(value).partition(" ")
        return {"day": day, "at": at.strip()}
    if kind == "hourly":
        return {"minute": value}
    return {"every_minutes": value}


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
    as_json: JsonOption = False,
) -> None:
    """Schedule a published process: exactly one of --cron, --daily, --weekly, --hourly, --every."""
    chosen = {k: v for k, v in {"cron": cron, "daily": daily, "weekly": weekly, "hourly": hourly,
                                "every": every}.items() if v is not None}  # fmt: skip
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --cron, --daily, --weekly, --hourly, --every")
    ((kind, value),) = chosen.items()
    inputs = parse_inputs(input or [])
    with backend() as b:
        process = b.get_process(process_id)
        schedule = b.create_schedule(
            process.id,
            process.agent_id,
            name=name or process.name,
            kind=kind,  # type: ignore[arg-type]
            timing=_timing(kind, value),
            timezone=tz,
            inputs=inputs,
            catch_up=catch_up,
            window_s=window,
            enabled=not disabled,
        )
    _show(schedule, as_json)


@app.command("list")
def list_(process_id: str, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """A process's schedules, newest first, with each one's next fire time."""
    with backend() as b:
        process = b.get_process(process_id)
        items = b.list_schedules(process.agent_id, process.id)
    if as_json:
        print_json({"items": items})
    elif quiet:
        print_ids(i.id for i in items)
    else:
        rows = [
            [
                i.id,
                i.name,
                _when(i),
                "yes" if i.enabled else "no",
                i.next_fire_times[0].strftime("%Y-%m-%d %H:%M") if i.next_fire_times else "",
                i.catch_up.policy,
            ]
            for i in items
        ]
        print_table(["id", "name", "when", "enabled", "next (UTC)", "catch-up"], rows)


@app.command("show")
def show(schedule_id: str, as_json: JsonOption = False) -> None:
    """A schedule and its next five fire times."""
    with backend() as b:
        schedule = b.get_schedule(schedule_id)
    _show(schedule, as_json)


@app.command("enable")
def enable(schedule_id: str, as_json: JsonOption = False) -> None:
    """Enable a schedule: it fires from the next slot on (missed slots are not caught up)."""
    with backend() as b:
        schedule = b.update_schedule(schedule_id, enabled=True)
    _show(schedule, as_json)


@app.command("disable")
def disable(schedule_id: str, as_json: JsonOption = False) -> None:
    """Disable a schedule: it fires no more until enabled."""
    with backend() as b:
        schedule = b.update_schedule(schedule_id, enabled=False)
    _show(schedule, as_json)


@app.command("delete")
def delete(schedule_id: str) -> None:
    """Delete a schedule (the runs it started stay)."""
    with backend() as b:
        b.delete_schedule(schedule_id)
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
