"""Live log lines: written in one batch once the oldest is ``delay`` old; the rest go with the outcome."""

from __future__ import annotations

import threading

from plainrun.engine.live import Lines, LiveLog


def test_lines_are_written_in_batches_while_the_attempt_runs_and_the_rest_at_its_end() -> None:
    written: list[list[str]] = []
    batch = threading.Event()

    def write(lines: Lines) -> bool:
        written.append([line["text"] for _, line in lines])
        batch.set()
        return True

    live = LiveLog(write, delay=0.05)
    live.add("one")
    live.add("two")
    assert batch.wait(30)
    live.add("three")
    assert live.close() == [{"text": "three"}]  # ended before its delay: it goes with the outcome
    assert written == [["one", "two"]]
    live.add("after the end")
    assert live.close() == [{"text": "after the end"}]


def test_a_short_attempt_writes_nothing_itself_and_a_failed_write_keeps_its_lines() -> None:
    calls: list[int] = []
    quick = LiveLog(lambda lines: bool(calls.append(1)), delay=60)
    quick.add("hello")
    assert quick.close() == [{"text": "hello"}] and calls == []

    failed = threading.Event()

    def broken(lines: Lines) -> bool:
        failed.set()
        raise OSError("the database is away")

    down = LiveLog(broken, delay=0.01)
    down.add("kept")
    assert failed.wait(30)
    assert down.close() == [{"text": "kept"}]
