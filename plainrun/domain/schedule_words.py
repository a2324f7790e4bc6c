"""A schedule's timing in words: "every weekday at 09:00, Europe/Berlin".

The presets say what they are; a cron expression is put in words when its minute and hour are
single numbers and its day and month fields are ``*`` (the usual "at this time on these days"),
and is shown as written otherwise.
"""

from __future__ import annotations

from plainrun.domain.schedules import DAYS, Timing

_CRON_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _days(field: str) -> str | None:
    """A cron weekday field in words (``1-5``: "every weekday"), or None when it is not simple."""
    if field in ("*", "?"):
        return "every day"
    if field in ("1-5", "mon-fri"):
        return "every weekday"
    if field in ("0,6", "6,0", "sat,sun", "sun,sat", "6-7"):
        return "every weekend day"
    names: list[str] = []
    for part in field.split(","):
        if part.isdigit() and int(part) <= 7:
            names.append(_CRON_DAYS[int(part)].capitalize())
        elif part.lower()[:3] in {d[:3] for d in DAYS}:
            names.append(next(d for d in DAYS if d.startswith(part.lower()[:3])).capitalize())
        else:
            return None
    return "every " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) == 5:
        minute, hour, day, month, weekday = fields
        days = _days(weekday.lower())
        if minute.isdigit() and hour.isdigit() and day == "*" and month == "*" and days:
            return f"{days} at {int(hour):02d}:{int(minute):02d}"
        if minute.isdigit() and hour == "*" and day == "*" and month == "*" and weekday == "*":
            return f"every hour at minute {int(minute)}"
    return f"on the cron expression {expression}"


def describe(timing: Timing) -> str:
    """When a schedule fires, in words, with its time zone."""
    spec = timing.spec
    if timing.kind == "hourly":
        words = f"every hour at minute {spec['minute']}"
    elif timing.kind == "daily":
        words = f"every day at {spec['at']}"
    elif timing.kind == "weekly":
        words = f"every {spec['day'].capitalize()} at {spec['at']}"
    elif timing.kind == "every":
        n = spec["every_minutes"]
        words = "every minute" if n == 1 else f"every {n} minutes"
    else:
        words = _cron(spec["cron"])
    return f"{words}, {timing.timezone}"
