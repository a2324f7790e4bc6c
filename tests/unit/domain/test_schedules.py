"""Schedules: fire times in a time zone across daylight-saving changes, invalid timings, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from plainrun.domain.schedules import (
    DEFAULT_WINDOW_S,
    GRACE,
    MAX_CATCH_UP,
    MAX_EVERY_MINUTES,
    MAX_WINDOW_S,
    CatchUp,
    Timing,
    due_slots,
    local_instant,
    slot_ref,
    zone,
)
from plainrun.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = datetime(2024, 6, 4, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- daylight saving -------------------------------------------------------------------------------


def test_a_daily_time_skipped_by_spring_forward_fires_once_at_the_end_of_the_gap() -> None:
    """Europe/Berlin, 2024-03-31: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day."""
    daily = Timing.parse("daily", {"at": "02:30"}, "Europe/Berlin")
    assert daily.next_times(_utc("2024-03-30T12:00:00+01:00"), 3) == [
        _utc("2024-03-31T03:00:00+02:00"),  # the first instant after the gap, once
        _utc("2024-04-01T02:30:00+02:00"),
        _utc("2024-04-02T02:30:00+02:00"),
    ]
    hourly = Timing.parse("hourly", {"minute": 30}, "Europe/Berlin")
    assert hourly.next_times(_utc("2024-03-31T01:00:00+01:00"), 3) == [
        _utc("2024-03-31T01:30:00+01:00"),
        _utc("2024-03-31T03:30:00+02:00"),  # one real hour later
        _utc("2024-03-31T04:30:00+02:00"),
    ]


def test_a_daily_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() -> None:
    """Europe/Berlin, 2024-10-27: 03:00 CEST becomes 02:00 CET; 02:30 happens twice that day."""
    daily = Timing.parse("daily", {"at": "02:30"}, "Europe/Berlin")
    assert daily.next_times(_utc("2024-10-26T12:00:00+02:00"), 3) == [
        _utc("2024-10-27T02:30:00+02:00"),  # once: not again at 02:30 CET
        _utc("2024-10-28T02:30:00+01:00"),
        _utc("2024-10-29T02:30:00+01:00"),
    ]
    # Asked from inside the repeated hour (after the first 02:30), the next is the next day's.
    assert daily.next_after(_utc("2024-10-27T02:10:00+01:00")) == _utc("2024-10-28T02:30:00+01:00")
    hourly = Timing.parse("hourly", {"minute": 30}, "Europe/Berlin")
    assert hourly.next_times(_utc("2024-10-27T01:00:00+02:00"), 3) == [
        _utc("2024-10-27T01:30:00+02:00"),
        _utc("2024-10-27T02:30:00+02:00"),
        _utc("2024-10-27T02:30:00+01:00"),  # an interval schedule fires in both 02:xx hours
    ]


def test_weekly_and_cron_schedules_keep_local_time_across_a_change() -> None:
    weekly = Timing.parse("weekly", {"day": "mon", "at": "09:00"}, "America/New_York")
    assert weekly.next_times(_utc("2024-03-01T00:00:00+00:00"), 2) == [
        _utc("2024-03-04T09:00:00-05:00"),
        _utc("2024-03-11T09:00:00-04:00"),
    ]
    cron = Timing.parse("cron", {"cron": "0 9 * * 1-5"}, "Europe/Berlin")
    assert cron.next_after(_utc("2024-03-29T12:00:00+01:00")) == _utc("2024-04-01T09:00:00+02:00")


def test_a_local_time_in_a_gap_is_the_end_of_the_gap_and_a_repeated_one_its_first_occurrence() -> None:
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    assert local_instant(datetime(2024, 3, 31, 2, 30), berlin) == _utc("2024-03-31T03:00:00+02:00")
    assert local_instant(datetime(2024, 3, 10, 2, 59, 59), new_york) == _utc("2024-03-10T03:00:00-04:00")
    assert local_instant(datetime(2024, 10, 27, 2, 30), berlin) == _utc("2024-10-27T02:30:00+02:00")
    assert local_instant(datetime(2024, 6, 4, 10, 0), berlin) == _utc("2024-06-04T10:00:00+02:00")


def test_a_cron_of_a_local_time_in_the_gap_fires_once_that_day() -> None:
    cron = Timing.parse("cron", {"cron": "15 2 * * *"}, "America/New_York")
    assert cron.next_times(_utc("2024-03-09T12:00:00-05:00"), 2) == [
        _utc("2024-03-10T03:00:00-04:00"),
        _utc("2024-03-11T02:15:00-04:00"),
    ]


# --- timings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("daily", {"at": "25:00"}),
        ("daily", {"at": "9:00"}),
        ("daily", {}),
        ("weekly", {"at": "09:00", "day": "someday"}),
        ("weekly", {"at": "09:00", "day": "tu"}),  # too short to name one day
        ("weekly", {"at": "09:00"}),
        ("hourly", {"minute": 60}),
        ("hourly", {"minute": True}),
        ("hourly", {"minute": "5"}),
        ("every", {"every_minutes": 0}),
        ("every", {"every_minutes": MAX_EVERY_MINUTES + 1}),
        ("every", {"every_minutes": True}),
        ("every", {"every_minutes": 1.5}),
        ("cron", {"cron": "61 * * * *"}),
        ("cron", {"cron": "* * *"}),
        ("cron", {"cron": "* * * * * * *"}),
        ("cron", {"cron": "* " * 101}),
        ("cron", {}),
        ("yearly", {}),
    ],
)
def test_invalid_timings_are_refused(kind: str, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        Timing.parse(kind, fields, "UTC")


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 9 31 4 *", "0 0 31 2,4,6,9,11 *"])
def test_a_cron_that_never_fires_is_refused(expression: str) -> None:
    with pytest.raises(InvalidInput, match="never comes"):
        Timing.parse("cron", {"cron": expression}, "UTC").next_after(T)


def test_a_cron_of_a_day_that_comes_only_in_leap_years_is_kept() -> None:
    leap = Timing.parse("cron", {"cron": "0 0 29 2 *"}, "UTC")
    assert leap.next_after(T) == datetime(2028, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "fields", "gap"),
    [
        ("cron", {"cron": "* * * * *"}, 60),
        ("cron", {"cron": "*/5 * * * *"}, 300),
        ("cron", {"cron": "0,59 */2 * * *"}, 59 * 60),  # 00:00, 00:59, 02:00, 02:59 …
        ("cron", {"cron": "30 0,23 * * *"}, 3600),  # 23:30 to the next day's 00:30
        ("cron", {"cron": "0 9 * * 1-5"}, 86400),
        ("cron", {"cron": "* * * * * */2"}, 2),
        ("every", {"every_minutes": 3}, 180),
        ("hourly", {"minute": 5}, 3600),
        ("daily", {"at": "09:00"}, 86400),
    ],
)
def test_a_timings_shortest_gap_between_slots(kind: str, fields: dict[str, Any], gap: int) -> None:
    assert Timing.parse(kind, fields, "UTC").shortest_gap_s() == gap


def test_a_timing_firing_more_often_than_the_bound_is_refused() -> None:
    every_minute = Timing.parse("cron", {"cron": "* * * * *"}, "UTC")
    assert every_minute.check_interval(60) == every_minute
    with pytest.raises(InvalidInput, match="at most once every 300 seconds"):
        every_minute.check_interval(300)
    with pytest.raises(InvalidInput, match="at most once every 300 seconds"):
        Timing.parse("every", {"every_minutes": 4}, "UTC").check_interval(300)
    Timing.parse("every", {"every_minutes": 5}, "UTC").check_interval(300)


def test_a_seconds_field_is_refused_unless_the_bound_is_under_a_minute() -> None:
    once_a_minute = Timing.parse("cron", {"cron": "* * * * * 0"}, "UTC")  # 60 s apart, yet seconds
    with pytest.raises(InvalidInput, match="seconds field is not allowed"):
        once_a_minute.check_interval(60)
    assert once_a_minute.check_interval(1) == once_a_minute
    with pytest.raises(InvalidInput, match="at most once every 5 seconds"):
        Timing.parse("cron", {"cron": "* * * * * */2"}, "UTC").check_interval(5)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "europe/berlin", "", "A" * 65, 5, None])
def test_a_time_zone_is_an_iana_name_exactly(name: Any) -> None:
    with pytest.raises(InvalidInput, match="IANA"):
        zone(name)
    with pytest.raises(InvalidInput, match="IANA"):
        Timing.parse("daily", {"at": "09:00"}, name)


def test_a_timing_keeps_only_the_fields_of_its_kind_in_their_plain_form() -> None:
    given = {"at": "07:45", "day": "THU", "minute": 5, "every_minutes": 10, "cron": "* * * * *"}
    assert Timing.parse("weekly", given, "UTC").spec == {"at": "07:45", "day": "thursday"}
    assert Timing.parse("daily", given, "UTC").spec == {"at": "07:45"}
    assert Timing.parse("hourly", given, "UTC").spec == {"minute": 5}
    assert Timing.parse("hourly", {"minute": None}, "UTC").spec == {"minute": 0}
    assert Timing.parse("every", given, "UTC").spec == {"every_minutes": 10}
    assert Timing.parse("cron", {"cron": " 0  9 * *\t1-5 "}, "UTC").spec == {"cron": "0 9 * * 1-5"}
    assert Timing.parse("every", {"every_minutes": MAX_EVERY_MINUTES}, "UTC").spec["every_minutes"] == (
        MAX_EVERY_MINUTES
    )


def test_every_n_minutes_fires_at_multiples_since_the_epoch_whatever_the_zone() -> None:
    kolkata = Timing.parse("every", {"every_minutes": 90}, "Asia/Kolkata")
    utc = Timing.parse("every", {"every_minutes": 90}, "UTC")
    slot = kolkata.next_after(T)
    assert slot == utc.next_after(T) and slot > T and slot - T <= timedelta(minutes=90)
    assert (slot - EPOCH) % timedelta(minutes=90) == timedelta(0)
    assert kolkata.next_after(slot) == slot + timedelta(minutes=90)  # strictly after a slot


def test_a_six_field_cron_fires_on_its_seconds() -> None:
    cron = Timing.parse("cron", {"cron": "* * * * * */15"}, "UTC")  # the sixth field is the seconds
    assert cron.next_times(T + timedelta(seconds=7), 3) == [
        T + timedelta(seconds=15),
        T + timedelta(seconds=30),
        T + timedelta(seconds=45),
    ]


def test_slots_between_are_oldest_first_and_only_the_latest_when_over_the_limit() -> None:
    every = Timing.parse("every", {"every_minutes": 1}, "UTC")
    assert every.slots_between(T, T + 3 * MINUTE, 10) == [T + n * MINUTE for n in range(4)]  # both ends
    assert every.slots_between(T, T + 9 * MINUTE, 3) == [T + n * MINUTE for n in (7, 8, 9)]
    assert every.latest_between(T, T + 9 * MINUTE + timedelta(seconds=59)) == T + 9 * MINUTE
    assert every.latest_between(T + timedelta(seconds=1), T + timedelta(seconds=59)) is None


def test_a_slot_ref_names_the_schedule_and_the_utc_slot() -> None:
    assert slot_ref("sched1", datetime(2024, 6, 4, 8, 30, tzinfo=UTC)) == "sched1@2024-06-04T08:30:00Z"


# --- catch-up -------------------------------------------------------------------------------------

TEN = Timing.parse("every", {"every_minutes": 10}, "UTC")
NEXT_AT = T + 10 * MINUTE  # the first slot after T; every scheduler down from T to T+65 min


@pytest.mark.parametrize(
    ("policy", "window_s", "fired"),
    [("skip", None, []), ("latest", None, [60]), ("all_within", 1800, [40, 50, 60])],
)
def test_missed_slots_fire_by_the_policy(policy: str, window_s: int | None, fired: list[int]) -> None:
    now = T + 65 * MINUTE
    assert due_slots(TEN, policy, window_s, NEXT_AT, now) == [T + m * MINUTE for m in fired]


@pytest.mark.parametrize(
    ("policy", "window_s", "fired"),
    [("skip", None, [70]), ("latest", None, [70]), ("all_within", 1800, [50, 60, 70])],
)
def test_a_slot_on_time_always_fires_and_latest_then_adds_no_missed_one(
    policy: str, window_s: int | None, fired: list[int]
) -> None:
    now = T + 70 * MINUTE + timedelta(seconds=30)
    assert due_slots(TEN, policy, window_s, NEXT_AT, now) == [T + m * MINUTE for m in fired]


def test_a_slot_is_on_time_for_grace_after_it_and_missed_after_that() -> None:
    slot = T + 70 * MINUTE
    assert due_slots(TEN, "skip", None, slot, slot + GRACE) == [slot]
    assert due_slots(TEN, "skip", None, slot, slot + GRACE + timedelta(microseconds=1)) == []
    assert due_slots(TEN, "all_within", None, slot, slot + GRACE) == [slot]  # the window is never < GRACE
    assert due_slots(TEN, "skip", None, slot, slot - timedelta(microseconds=1)) == []  # not yet due


def test_latest_finds_the_latest_missed_slot_of_a_sparse_schedule() -> None:
    weekly = Timing.parse("weekly", {"day": "fri", "at": "17:00"}, "Europe/Berlin")
    first = weekly.next_after(T)
    now = first + timedelta(days=30)
    assert due_slots(weekly, "latest", None, first, now) == [weekly.next_times(first, 4)[-1]]


def test_all_within_runs_at_most_the_latest_max_catch_up_slots() -> None:
    every = Timing.parse("every", {"every_minutes": 1}, "UTC")
    now = T + timedelta(days=7)
    due = due_slots(every, "all_within", MAX_WINDOW_S, T, now)
    assert len(due) == MAX_CATCH_UP
    assert due[-1] == now and due[0] == now - (MAX_CATCH_UP - 1) * MINUTE


def test_a_catch_up_policy_has_a_window_only_for_all_within_and_within_its_bounds() -> None:
    assert CatchUp.parse("skip", 600) == CatchUp("skip", None)
    assert CatchUp.parse("latest", None) == CatchUp("latest", None)
    assert CatchUp.parse("all_within", None) == CatchUp("all_within", DEFAULT_WINDOW_S)
    assert CatchUp.parse("all_within", 60).window_s == 60
    assert CatchUp.parse("all_within", MAX_WINDOW_S).window_s == MAX_WINDOW_S
    for window in (59, MAX_WINDOW_S + 1, True, "600", 600.0):
        with pytest.raises(InvalidInput, match="window_s"):
            CatchUp.parse("all_within", window)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="catch-up policy"):
        CatchUp.parse("never", None)
