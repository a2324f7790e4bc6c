"""The executor pool against real child processes: results, timeouts, cancels, crashes, memory, recycling."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import executor_targets
import pytest

from plainrun.engine import _wire
from plainrun.engine.executor import ExecResult, ExecutorPool, PoolClosed, StartupFailed

T = TypeVar("T")

# Targets are named by the module's own name, whatever name pytest imported it under.
MODULE = executor_targets.__name__


def target(name: str) -> str:
    return f"{MODULE}:{name}"


def with_pool(body: Callable[[ExecutorPool], Awaitable[T]], **options: Any) -> T:
    """Start a pool, run ``body`` against it, and close it, all in a fresh event loop."""

    async def main() -> T:
        options.setdefault("size", 1)
        pool = ExecutorPool(**options)
        await pool.start()
        try:
            return await body(pool)
        finally:
            await pool.close(grace_s=0)

    return asyncio.run(main())


def is_gone(pid: int) -> bool:
    """True once the process no longer exists or is only a zombie waiting for its reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def wait_gone(pids: list[int], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if not is_gone(pid)]
    return alive


def test_ok_result_carries_the_return_value() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, list[int]]:
        return await pool.run("j1", target("echo"), {"a": [1, "x"]}), pool.pids

    result, pids = with_pool(body)

    assert result.kind == "ok" and result.ok
    assert result.job_id == "j1"
    assert result.value["echo"] == {"a": [1, "x"]}
    assert result.value["pid"] == result.pid != os.getpid()
    assert result.pid in pids
    assert result.duration_s > 0


def test_exception_result_carries_type_message_and_traceback() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, ExecResult]:
        return await pool.run("j1", target("fail"), {"n": 3}), await pool.run("j2", target("echo"), {})

    failed, after = with_pool(body)

    assert failed.kind == "error"
    assert failed.error_type == "ValueError"
    assert failed.error_message == "bad input: 3"
    assert failed.traceback is not None
    assert "in fail" in failed.traceback and "ValueError: bad input: 3" in failed.traceback
    assert "_child.py" not in failed.traceback
    # An exception does not cost the child: the next job runs in the same process.
    assert after.kind == "ok" and after.pid == failed.pid


@pytest.mark.parametrize(
    ("name", "error_type"),
    [("not_json", "TypeError"), ("no_such_function", "AttributeError")],
)
def test_unusable_result_or_target_is_an_error(name: str, error_type: str) -> None:
    result = with_pool(lambda pool: pool.run("j1", target(name), {}))

    assert result.kind == "error"
    assert result.error_type == error_type


def test_endless_loop_times_out_and_the_pool_runs_the_next_job() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, ExecResult]:
        spun = await pool.run("spin", target("spin"), {}, timeout_s=0.5)
        return spun, await pool.run("next", target("echo"), {"n": 1})

    spun, after = with_pool(body)

    assert spun.kind == "timeout"
    assert 0.5 <= spun.duration_s < 1.0
    assert spun.pid is not None and wait_gone([spun.pid], 2.0) == []
    assert after.kind == "ok" and after.value["echo"] == {"n": 1}
    assert after.pid != spun.pid


def test_cancel_of_a_running_job_takes_effect_within_a_second() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, float, bool, bool, ExecResult]:
        started = asyncio.Event()
        run = asyncio.ensure_future(
            pool.run("sleeper", target("sleep"), {"s": 60}, on_start=lambda _job, _pid: started.set())
        )
        await started.wait()
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        cancelled = pool.cancel("sleeper")
        result = await run
        elapsed = time.monotonic() - t0
        again = pool.cancel("sleeper")
        return result, elapsed, cancelled, again, await pool.run("next", target("echo"), {})

    result, elapsed, cancelled, again, after = with_pool(body)

    assert cancelled is True and again is False
    assert result.kind == "cancelled"
    assert elapsed < 0.5
    assert result.pid is not None and wait_gone([result.pid], 2.0) == []
    assert after.kind == "ok" and after.pid != result.pid


def test_cancel_of_a_queued_job_leaves_the_running_one_alone() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, ExecResult]:
        running = asyncio.ensure_future(pool.run("first", target("sleep"), {"s": 0.3}))
        queued = asyncio.ensure_future(pool.run("second", target("echo"), {}))
        await asyncio.sleep(0.05)
        assert pool.running == 1 and pool.queued == 1
        assert pool.cancel("second")
        return await running, await queued

    first, second = with_pool(body)

    assert second.kind == "cancelled" and second.pid is None
    assert first.kind == "ok" and first.value == "slept"


def test_cancelling_the_awaiting_task_kills_the_job() -> None:
    async def body(pool: ExecutorPool) -> tuple[int, int, ExecResult]:
        started: list[int] = []
        task = asyncio.ensure_future(
            pool.run("sleeper", target("sleep"), {"s": 60}, on_start=lambda _job, pid: started.append(pid))
        )
        while not started:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return started[0], pool.running, await pool.run("sleeper", target("echo"), {})

    pid, running, after = with_pool(body)

    assert running == 0
    assert wait_gone([pid], 2.0) == []
    assert after.kind == "ok" and after.pid != pid


@pytest.mark.parametrize(
    ("name", "exit_code", "signum"),
    [
        ("segfault", None, signal.SIGSEGV),
        ("exit_hard", 7, None),
        ("kill_self", None, signal.SIGKILL),
    ],
)
def test_crash_is_reported_and_the_pool_recovers(
    name: str, exit_code: int | None, signum: int | None
) -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, ExecResult]:
        return await pool.run("boom", target(name), {}), await pool.run("next", target("echo"), {})

    crashed, after = with_pool(body)

    assert crashed.kind == "crashed"
    assert crashed.exit_code == exit_code
    assert crashed.signal == signum
    assert after.kind == "ok" and after.pid != crashed.pid


def test_memory_blow_up_is_reported_and_the_pool_recovers() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, ExecResult]:
        hog = await pool.run("hog", target("hog_memory"), {"chunks": 64}, timeout_s=20)
        return hog, await pool.run("next", target("echo"), {})

    hog, after = with_pool(body, memory_limit_mb=512)

    assert hog.kind == "memory"
    assert hog.error_type == "MemoryError"
    assert after.kind == "ok" and after.pid != hog.pid


def test_more_jobs_than_children_all_complete_in_order() -> None:
    async def body(pool: ExecutorPool) -> tuple[list[ExecResult], list[str], int, float]:
        order: list[str] = []
        peak = 0

        def on_start(job_id: str, _pid: int) -> None:
            nonlocal peak
            order.append(job_id)
            peak = max(peak, pool.running)

        t0 = time.monotonic()
        results = await asyncio.gather(
            *(pool.run(f"j{i}", target("sleep"), {"s": 0.1}, on_start=on_start) for i in range(8))
        )
        return list(results), order, peak, time.monotonic() - t0

    results, order, peak, elapsed = with_pool(body, size=2)

    assert [r.kind for r in results] == ["ok"] * 8
    assert order == [f"j{i}" for i in range(8)]
    assert peak == 2
    assert len({r.pid for r in results}) == 2
    assert 0.4 <= elapsed < 2.0  # four waves of two


def test_children_are_recycled_after_max_jobs(caplog: pytest.LogCaptureFixture) -> None:
    async def body(pool: ExecutorPool) -> list[int]:
        return [(await pool.run(f"j{i}", target("pid"), {})).value for i in range(7)]

    with caplog.at_level(logging.INFO, logger="plainrun.engine.executor"):
        pids = with_pool(body, max_jobs_per_child=3)

    assert pids[0] == pids[1] == pids[2]
    assert pids[3] == pids[4] == pids[5] != pids[0]
    assert pids[6] not in (pids[0], pids[3])
    assert wait_gone([pids[0], pids[3]], 2.0) == []
    recycled = [r for r in caplog.records if getattr(r, "action", None) == "recycled"]
    assert [r.pid for r in recycled] == [pids[0], pids[3]]  # type: ignore[attr-defined]


def test_events_are_logged_with_an_action(caplog: pytest.LogCaptureFixture) -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, ExecResult]:
        timed_out = await pool.run("spin", target("spin"), {}, timeout_s=0.2)
        crashed = await pool.run("boom", target("exit_hard"), {"code": 3})
        await pool.run("last", target("echo"), {})
        return timed_out, crashed

    with caplog.at_level(logging.INFO, logger="plainrun.engine.executor"):
        timed_out, crashed = with_pool(body)

    events = [(r.action, getattr(r, "pid", None)) for r in caplog.records if hasattr(r, "action")]
    assert ("killed", timed_out.pid) in events
    assert ("crashed", crashed.pid) in events
    assert sum(1 for action, _ in events if action == "spawned") == 3
    assert events[-1][0] == "closed"
    killed = next(r for r in caplog.records if getattr(r, "action", None) == "killed")
    assert killed.reason == "timeout"  # type: ignore[attr-defined]


def test_children_ignore_sigint() -> None:
    async def body(pool: ExecutorPool) -> tuple[ExecResult, int, ExecResult]:
        by_itself = await pool.run("self", target("sigint_self"), {})
        [pid] = pool.pids
        os.kill(pid, signal.SIGINT)
        await asyncio.sleep(0.1)
        return by_itself, pid, await pool.run("next", target("pid"), {})

    by_itself, pid, after = with_pool(body)

    assert by_itself.kind == "ok" and by_itself.value == "survived"
    assert after.value == pid


def test_close_kills_a_running_job_after_the_grace() -> None:
    async def main() -> tuple[ExecResult, ExecResult, list[int], float]:
        pool = ExecutorPool(size=2)
        await pool.start()
        pids = pool.pids
        short = asyncio.ensure_future(pool.run("short", target("sleep"), {"s": 0.1}))
        long = asyncio.ensure_future(pool.run("long", target("sleep"), {"s": 60}))
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        await pool.close(grace_s=0.5)
        elapsed = time.monotonic() - t0
        with pytest.raises(PoolClosed):
            await pool.run("late", target("echo"), {})
        assert pool.pids == []
        return await short, await long, pids, elapsed

    short, long, pids, elapsed = asyncio.run(main())

    assert short.kind == "ok"
    assert long.kind == "cancelled"
    assert 0.5 <= elapsed < 3.0
    assert wait_gone(pids, 2.0) == []


def test_close_cancels_queued_jobs() -> None:
    async def main() -> list[ExecResult]:
        pool = ExecutorPool(size=1)
        await pool.start()
        jobs = [asyncio.ensure_future(pool.run(f"j{i}", target("sleep"), {"s": 0.2})) for i in range(3)]
        await asyncio.sleep(0.05)
        await pool.close(grace_s=5)
        return list(await asyncio.gather(*jobs))

    results = asyncio.run(main())

    assert [r.kind for r in results] == ["ok", "cancelled", "cancelled"]


def test_parent_death_leaves_no_orphans(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        sys.path[:0] = {[str(Path(executor_targets.__file__).parent), os.getcwd()]!r}
        from plainrun.engine.executor import ExecutorPool

        async def main():
            pool = ExecutorPool(size=2)
            await pool.start()
            started = asyncio.Event()
            asyncio.ensure_future(
                pool.run("busy", "executor_targets:spin", {{}}, on_start=lambda j, p: started.set())
            )
            await started.wait()
            print(json.dumps(pool.pids), flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        pids = json.loads(worker.stdout.readline())
        assert len(pids) == 2
        fork_servers = {
            int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]) for pid in pids
        }
        assert wait_gone(pids, 0.2) == pids  # alive while the worker lives
    finally:
        worker.kill()
        worker.wait()
        worker.stdout.close()  # type: ignore[union-attr]

    assert wait_gone([*pids, *fork_servers], 3.0) == []


def test_start_fails_loudly_when_preload_cannot_be_imported() -> None:
    async def main() -> None:
        pool = ExecutorPool(size=1, preload=["plainrun_no_such_module"])
        await pool.start()

    with pytest.raises(StartupFailed, match="plainrun_no_such_module"):
        asyncio.run(main())


def test_run_rejects_duplicate_ids_and_bad_arguments() -> None:
    async def body(pool: ExecutorPool) -> None:
        first = asyncio.ensure_future(pool.run("same", target("sleep"), {"s": 0.1}))
        await asyncio.sleep(0)
        with pytest.raises(ValueError, match="already"):
            await pool.run("same", target("echo"), {})
        with pytest.raises(ValueError, match="timeout_s"):
            await pool.run("other", target("echo"), {}, timeout_s=0)
        with pytest.raises(TypeError):
            await pool.run("other", target("echo"), {"x": object()})
        assert (await first).kind == "ok"

    with_pool(body)


def test_frames_split_and_joined_arbitrarily_decode_in_order() -> None:
    stream = b"".join(_wire.encode({"n": i, "pad": "x" * i}) for i in range(50))
    frames = _wire.FrameBuffer()
    decoded: list[Any] = []
    for start in range(0, len(stream), 7):
        decoded += frames.feed(stream[start : start + 7])

    assert [m["n"] for m in decoded] == list(range(50))
    assert frames.feed(_wire.encode([1])) == [[1]]


def test_spawn_start_method_runs_crashes_and_recovers() -> None:
    async def body(pool: ExecutorPool) -> list[ExecResult]:
        return [
            await pool.run("ok", target("echo"), {}),
            await pool.run("boom", target("exit_hard"), {"code": 5}),
            await pool.run("spin", target("spin"), {}, timeout_s=0.2),
            await pool.run("next", target("echo"), {}),
        ]

    ok, crashed, timed_out, after = with_pool(body, start_method="spawn")

    assert ok.kind == "ok"
    assert crashed.kind == "crashed" and crashed.exit_code == 5
    assert timed_out.kind == "timeout"
    assert after.kind == "ok" and len({ok.pid, crashed.pid, timed_out.pid, after.pid}) == 3
