"""A schedule's timing in words."""

from __future__ import annotations

import pytest

from plainrun.domain.schedule_words import describe
from plainrun.domain.schedules import Timing


@pytest.mark.parametrize(
    ("kind", "spec", "words"),
    [
        ("cron", {"cron": "0 9 * * 1-5"}, "every weekday at 09:00"),
        ("cron", {"cron": "30 8 * * 1,3"}, "every Monday and Wednesday at 08:30"),
        ("cron", {"cron": "0 7 * * *"}, "every day at 07:00"),
        ("cron", {"cron": "5 * * * *"}, "every hour at minute 5"),
        ("cron", {"cron": "*/5 * * * *"}, "on the cron expression */5 * * * *"),
        ("cron", {"cron": "0 9 1 * *"}, "on the cron expression 0 9 1 * *"),
        ("hourly", {"minute": 15}, "every hour at minute 15"),
        ("daily", {"at": "06:05"}, "every day at 06:05"),
        ("weekly", {"day": "fri", "at": "16:45"}, "every Friday at 16:45"),
        ("every", {"every_minutes": 1}, "every minute"),
        ("every", {"every_minutes": 45}, "every 45 minutes"),
    ],
)
def test_each_kind_in_words_with_its_zone(kind: str, spec: dict[str, object], words: str) -> None:
    assert describe(Timing.parse(kind, spec, "Europe/Berlin")) == f"{words}, Europe/Berlin"
