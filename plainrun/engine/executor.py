"""The executor pool: process code runs in separate, long-lived processes, one job at a time.

The worker claims a run and hands its code to :class:`ExecutorPool`, which runs it in a child process
so that an endless loop, a segfault, a memory blow-up or a stuck call never takes the worker down,
and a timeout or a cancel stops the code for certain (SIGKILL, then a fresh child takes the slot)::

    pool = ExecutorPool(size=2, max_jobs_per_child=1000, memory_limit_mb=1024, preload=["plainrun.language"])
    await pool.start()
    result = await pool.run(job_id, "pkg.mod:func", payload, timeout_s=30)
    pool.cancel(job_id)          # the job's run() returns ExecResult(kind="cancelled")
    await pool.close(grace_s=10)

Every job ends in exactly one :class:`ExecResult`, whose ``kind`` is one of:

    ok         the target returned; ``value`` is its JSON-able return value
    error      the target raised (or returned something not JSON-able); ``error_*`` and ``traceback``
    timeout    it ran past ``timeout_s`` and its process was killed
    cancelled  :meth:`ExecutorPool.cancel`, a cancelled ``run()`` or :meth:`ExecutorPool.close` stopped it
    crashed    its process died by itself; ``exit_code`` or ``signal`` says how
    memory     it went over ``memory_limit_mb`` (MemoryError under the address-space limit)

Jobs beyond the pool's size wait their turn, first come first served. The pool talks to its children
over one socket each (length-prefixed orjson frames), read from the event loop with no thread per
child. Children ignore SIGINT (the worker owns shutdown) and die with their parent.

Process-level events are logged to ``plainrun.engine.executor`` with an ``action`` field: ``spawned``,
``recycled``, ``killed``, ``crashed``, ``memory``, ``spawn_failed``, ``closed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import types
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from plainrun.engine import _child, _wire
from plainrun.engine._channel import OnStart, _Channel, _Child, _Job
from plainrun.engine.results import ExecResult, ExecutorError, PoolClosed, ResultKind, StartupFailed

__all__ = ["ExecResult", "ExecutorError", "ExecutorPool", "PoolClosed", "ResultKind", "StartupFailed"]

log = logging.getLogger(__name__)

# How long a child that was told to exit (or lost its socket) may take before it is SIGKILLed.
_EXIT_GRACE_S = 2.0
_MAX_SPAWN_BACKOFF_S = 5.0


class ExecutorPool:
    """A pool of ``size`` executor processes, each running one job at a time.

    ``max_jobs_per_child``: a child is replaced after this many jobs (bounds any leak in process code).
    ``memory_limit_mb``: the address-space limit of each child (``RLIMIT_AS``); ``None`` for none.
    ``preload``: modules every child imports before its first job (and the fork server, once).
    ``start_method``: ``"forkserver"`` (fast replacement of killed children) or ``"spawn"``.
    ``max_message_bytes``: bound on one payload or result frame.
    """

    def __init__(
        self,
        size: int = 2,
        *,
        max_jobs_per_child: int = 1000,
        memory_limit_mb: int | None = 1024,
        preload: Iterable[str] = (),
        start_method: Literal["forkserver", "spawn"] = "forkserver",
        max_message_bytes: int = 64 * 1024 * 1024,
        start_timeout_s: float = 60.0,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        if max_jobs_per_child < 1:
            raise ValueError("max_jobs_per_child must be at least 1")
        if start_method not in ("forkserver", "spawn"):
            raise ValueError("start_method must be 'forkserver' or 'spawn'")
        self._size = size
        self._max_jobs_per_child = max_jobs_per_child
        self._memory_limit_mb = memory_limit_mb
        self._preload = list(preload)
        self._start_method = start_method
        self._ctx = multiprocessing.get_context(start_method)
        self._max_message_bytes = max_message_bytes
        self._start_timeout_s = start_timeout_s
        self._state = "new"  # new -> running -> closing -> closed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._children: set[_Child] = set()
        self._idle: list[_Child] = []
        self._queue: deque[_Job] = deque()
        self._jobs: dict[str, _Job] = {}
        self._spawning: set[asyncio.Task[None]] = set()
        self._spawn_failures = 0
        self._all_reaped: asyncio.Event | None = None

    # -- public API ---------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    @property
    def pids(self) -> list[int]:
        """The process ids of the live children (starting, idle or busy)."""
        return sorted(c.pid for c in self._children if c.state in ("starting", "idle", "busy"))

    @property
    def running(self) -> int:
        """How many jobs are running in a child right now."""
        return sum(1 for c in self._children if c.job is not None)

    @property
    def queued(self) -> int:
        """How many jobs wait for a free child."""
        return sum(1 for job in self._queue if not job.finished)

    async def start(self) -> None:
        """Start the children and wait until each has imported ``preload``; raise StartupFailed if not."""
        if self._state != "new":
            raise ExecutorError("the pool was started already")
        loop = self._loop = asyncio.get_running_loop()
        self._all_reaped = asyncio.Event()
        if self._start_method == "forkserver":
            preload = ["plainrun.engine._child", *self._preload]
            self._ctx.set_forkserver_preload(preload)
            from multiprocessing import forkserver

            # Launching the fork server imports the preload list: slow, so not on the event loop.
            await loop.run_in_executor(None, forkserver.ensure_running)
        self._state = "running"
        try:
            children = [self._spawn() for _ in range(self._size)]
            await asyncio.wait_for(
                asyncio.gather(*(child.ready for child in children)), self._start_timeout_s
            )
        except BaseException:
            await self.close(grace_s=0)
            raise
        failed = [child for child in children if child.fatal is not None or child.state != "idle"]
        if failed:
            await self.close(grace_s=0)
            raise StartupFailed(failed[0].fatal or "an executor process exited during start-up")

    async def run(
        self,
        job_id: str,
        target: str,
        payload: Any,
        timeout_s: float | None = None,
        *,
        on_start: OnStart | None = None,
    ) -> ExecResult:
        """Run ``target(payload)`` in a child and return how it ended.

        ``target`` is ``"package.module:function"``; ``payload`` and the return value must be JSON-able.
        ``timeout_s`` counts from the moment a child takes the job, not from the call. ``on_start`` is
        called with ``(job_id, pid)`` when it does. Cancelling the awaiting task kills the job.
        """
        if self._state != "running":
            raise PoolClosed()
        if job_id in self._jobs:
            raise ValueError(f"job {job_id!r} is already in the pool")
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError("timeout_s must be positive or None")
        frame = _wire.encode({"id": job_id, "target": target, "payload": payload})
        if len(frame) - _wire.HEADER.size > self._max_message_bytes:
            raise ValueError(f"the payload of job {job_id!r} is over {self._max_message_bytes} bytes")
        assert self._loop is not None
        job = _Job(job_id, frame, timeout_s, on_start, self._loop.create_future())
        self._jobs[job_id] = job
        self._queue.append(job)
        self._dispatch()
        try:
            return await job.future
        except asyncio.CancelledError:
            self._stop(job, "cancelled")
            raise

    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job at once (its child is SIGKILLed). False if it is not in the pool."""
        job = self._jobs.get(job_id)
        if job is None:
            return False
        return self._stop(job, "cancelled")

    async def close(self, grace_s: float = 10.0) -> None:
        """Refuse new jobs, cancel queued ones, give running ones ``grace_s`` seconds, then kill them."""
        if self._state in ("closing", "closed"):
            return
        if self._state == "new":
            self._state = "closed"
            return
        self._state = "closing"
        for job in list(self._queue):
            self._stop(job, "cancelled")
        self._queue.clear()
        running = [job.future for job in self._jobs.values() if not job.finished]
        if running and grace_s > 0:
            await asyncio.wait(running, timeout=grace_s)
        for job in list(self._jobs.values()):
            self._stop(job, "cancelled")
        if self._spawning:
            await asyncio.gather(*self._spawning, return_exceptions=True)
        for child in list(self._children):
            if child.state in ("starting", "idle", "busy"):
                self._retire(child, None)
        assert self._all_reaped is not None
        if self._children:
            self._all_reaped.clear()
            # Each child gets _EXIT_GRACE_S to exit on EOF before it is SIGKILLed; then it is reaped.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_reaped.wait(), _EXIT_GRACE_S + 5.0)
        self._state = "closed"
        log.info("executor pool closed", extra={"action": "closed", "leftover": len(self._children)})

    async def __aenter__(self) -> ExecutorPool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- children -----------------------------------------------------------------------------------

    def _spawn(self) -> _Child:
        """Start one child and connect its socket; it becomes idle when its "ready" frame arrives."""
        loop = self._loop
        assert loop is not None
        parent_sock, child_sock = socket.socketpair()
        config = {
            "worker_pid": os.getpid(),
            "sys_path": list(sys.path),
            "preload": self._preload,
            "memory_limit_mb": self._memory_limit_mb,
            "max_message_bytes": self._max_message_bytes,
        }
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_child.main, args=(child_sock, config), name="plainrun-executor", daemon=True
        )
        try:
            with _main_module_hidden():
                process.start()
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
        child = _Child(process, loop.create_future())
        self._children.add(child)
        child.channel = _Channel(self, child, parent_sock)
        log.info("executor process spawned", extra={"action": "spawned", "pid": child.pid})
        return child

    def _replace(self) -> None:
        """Start a child for a slot that was freed; back off while children keep dying at start-up."""
        if self._state != "running":
            return
        delay = 0.0
        if self._spawn_failures:
            delay = min(0.1 * 2 ** (self._spawn_failures - 1), _MAX_SPAWN_BACKOFF_S)
        task = asyncio.ensure_future(self._spawn_later(delay))
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _spawn_later(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self._state != "running":
            return
        try:
            self._spawn()
        except Exception as exc:
            self._spawn_failures += 1
            log.error(
                "executor process could not be started",
                extra={"action": "spawn_failed", "error": f"{type(exc).__name__}: {exc}"},
            )
            self._replace()

    def _on_message(self, child: _Child, message: dict[str, Any]) -> None:
        if "ready" in message:
            self._spawn_failures = 0
            if self._state in ("running", "closing") and child.state == "starting":
                child.state = "idle"
                self._idle.append(child)
                if not child.ready.done():
                    child.ready.set_result(True)
                self._dispatch()
            return
        if "fatal" in message:
            child.fatal = str(message["fatal"])
            log.error(
                "executor process failed to start",
                extra={"action": "spawn_failed", "pid": child.pid, "error": child.fatal},
            )
            return
        job = child.job
        if job is None or message.get("id") != job.id:
            return  # a stale result of a job that was stopped meanwhile
        child.job = None
        child.jobs_done += 1
        kind = message["kind"]
        if kind == "ok":
            self._finish(job, "ok", child.pid, value=message["value"])
        else:
            self._finish(
                job,
                kind,
                child.pid,
                error_type=message["type"],
                error_message=message["message"],
                traceback=message["traceback"],
            )
        if kind == "memory":
            log.warning(
                "executor job went over the memory limit",
                extra={"action": "memory", "pid": child.pid, "job_id": job.id},
            )
            self._retire(child, None)
        elif child.jobs_done >= self._max_jobs_per_child:
            self._retire(child, "recycled")
        else:
            child.state = "idle"
            self._idle.append(child)
            self._dispatch()

    def _on_lost(self, child: _Child) -> None:
        """The child's socket closed: expected if we retired or killed it, a crash otherwise."""
        if child.state in ("starting", "idle", "busy"):
            if child.state == "idle":
                self._idle.remove(child)
            if child.state == "starting":
                self._spawn_failures += 1
            child.lost_job = child.job
            child.job = None
            child.state = "dead"
            self._replace()
        if not child.ready.done():
            child.ready.set_result(False)
        self._watch_exit(child)

    def _retire(self, child: _Child, action: str | None) -> None:
        """Let a child go: EOF on its socket makes it exit; a fresh one takes the slot."""
        if child.state == "idle":
            self._idle.remove(child)
        child.state = "retiring"
        if not child.ready.done():
            child.ready.set_result(False)
        if action is not None:
            log.info(
                "executor process recycled",
                extra={"action": action, "pid": child.pid, "jobs": child.jobs_done},
            )
        if child.channel is not None:
            child.channel.close()
        self._watch_exit(child)
        self._replace()

    def _kill(self, child: _Child, reason: str) -> None:
        if child.state == "idle":
            self._idle.remove(child)
        child.state = "dead"
        _sigkill(child.pid)
        log.warning("executor process killed", extra={"action": "killed", "pid": child.pid, "reason": reason})
        if child.channel is not None:
            child.channel.close()
        self._watch_exit(child)
        self._replace()

    def _watch_exit(self, child: _Child) -> None:
        """Reap the child when its exit status arrives; SIGKILL it if it takes longer than the grace."""
        if child.watching:
            return
        child.watching = True
        loop = self._loop
        assert loop is not None
        loop.add_reader(child.process.sentinel, self._reap, child)
        child.kill_timer = loop.call_later(_EXIT_GRACE_S, _sigkill, child.pid)

    def _reap(self, child: _Child) -> None:
        exit_code = child.process.exitcode
        if exit_code is None:  # spawn: the sentinel pipe closes just before the process can be waited for
            loop = self._loop
            assert loop is not None
            loop.remove_reader(child.process.sentinel)
            loop.call_later(0.01, self._reap, child)
            return
        assert self._loop is not None
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(child.process.sentinel)
        if child.kill_timer is not None:
            child.kill_timer.cancel()
        child.reaped = True
        child.channel = None  # break the child <-> channel cycle
        child.process.close()
        self._children.discard(child)
        job = child.lost_job
        child.lost_job = None
        sig = -exit_code if exit_code < 0 else None
        code = exit_code if exit_code >= 0 else None
        if job is not None and not job.finished:
            log.warning(
                "executor process crashed",
                extra={
                    "action": "crashed",
                    "pid": child.pid,
                    "job_id": job.id,
                    "exit_code": code,
                    "signal": sig,
                },
            )
            self._finish(job, "crashed", child.pid, exit_code=code, signal=sig)
        elif child.state == "dead" and job is None and child.jobs_done and exit_code != -signal.SIGKILL:
            log.warning(
                "idle executor process died",
                extra={"action": "crashed", "pid": child.pid, "exit_code": code, "signal": sig},
            )
        if not self._children and self._all_reaped is not None:
            self._all_reaped.set()

    # -- jobs ---------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        queue = self._queue
        idle = self._idle
        while queue and idle:
            job = queue.popleft()
            if job.finished:
                continue
            child = idle.pop()
            child.state = "busy"
            child.job = job
            job.child = child
            job.started_at = time.monotonic()
            assert child.channel is not None
            child.channel.write(job.frame)
            if job.timeout_s is not None:
                assert self._loop is not None
                job.timer = self._loop.call_later(job.timeout_s, self._stop, job, "timeout")
            if job.on_start is not None:
                try:
                    job.on_start(job.id, child.pid)
                except Exception:
                    log.exception("on_start hook failed", extra={"action": "hook_failed", "job_id": job.id})

    def _stop(self, job: _Job, kind: ResultKind) -> bool:
        """End a job as "timeout" or "cancelled"; SIGKILL its child if it is running."""
        if job.finished:
            return False
        child = job.child
        if child is not None and child.job is job:
            child.job = None
            self._finish(job, kind, child.pid)
            self._kill(child, kind)
        else:
            self._finish(job, kind, child.pid if child is not None else None)
        return True

    def _finish(self, job: _Job, kind: ResultKind, pid: int | None, **fields: Any) -> None:
        if job.finished:
            return
        job.finished = True
        if job.timer is not None:
            job.timer.cancel()
        self._jobs.pop(job.id, None)
        duration = time.monotonic() - job.started_at if job.started_at else 0.0
        if not job.future.done():
            job.future.set_result(ExecResult(job.id, kind, duration_s=duration, pid=pid, **fields))


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Keep multiprocessing from re-running the main script in each new child.

    multiprocessing tells every child to import the parent's main module (as ``__mp_main__``) so
    that objects defined there unpickle. The executor child runs ``_child.main`` and receives no
    such objects, and re-running a script such as the ``plainrun`` CLI would import the whole web
    stack into every child (and cost tens of milliseconds per replacement). The preparation data is
    built synchronously inside ``Process.start()``, so the main module is swapped for an empty one
    for that call only.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__file__", None) is None:
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _sigkill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
