"""Ids: 25 lowercase base-36 characters that sort by creation time."""

from __future__ import annotations

import threading
import time

import pytest

from plainrun.domain import ids


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_an_id_matches_the_pattern_and_carries_its_creation_time() -> None:
    before = _now_ms()
    made = ids.new_id()
    after = _now_ms()
    assert len(made) == ids.LENGTH == 25 and ids.ID_PATTERN.match(made) and ids.is_id(made)
    assert ids.SPEC_ID_PATTERN.match(made)  # the API's pattern accepts every id
    assert before <= ids.id_time_ms(made) <= after


def test_ids_sort_by_creation_time() -> None:
    soon = _now_ms() + 5
    first, second = ids.new_id(now_ms=soon), ids.new_id(now_ms=soon + 1)
    assert ids.id_time_ms(first) == soon and ids.id_time_ms(second) == soon + 1
    assert first < second


def test_ids_made_in_one_millisecond_or_with_the_clock_going_back_still_sort_in_order() -> None:
    made = [ids.new_id() for _ in range(2000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    earlier = ids.new_id(now_ms=_now_ms() - 60_000)  # the clock stepped back a minute
    assert earlier > made[-1]


def test_ids_made_in_many_threads_are_all_different() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(out: list[str]) -> None:
        out.extend(ids.new_id() for _ in range(1000))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for out in made for i in out]
    assert len(set(everything)) == 4000
    assert all(out == sorted(out) for out in made)  # each thread's ids in its own order


@pytest.mark.parametrize(
    "value", ["0" * 24, "0" * 26, "0" * 24 + "A", "0" * 24 + "-", "0" * 24 + "_", " " + "0" * 24, ""]
)
def test_only_25_lowercase_base36_characters_are_an_id(value: str) -> None:
    assert not ids.is_id(value)
