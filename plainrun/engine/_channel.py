"""One executor process as the pool sees it (``_Child``), the job it runs (``_Job``), and the
socket between them (``_Channel``: length-prefixed frames, read from the event loop)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from plainrun.engine import _wire
from plainrun.engine.results import ExecResult

if TYPE_CHECKING:
    from plainrun.engine.executor import ExecutorPool

_RECV_BUFFER = 64 * 1024
OnStart = Callable[[str, int], None]


class _Job:
    __slots__ = ("child", "finished", "frame", "future", "id", "on_start", "started_at", "timeout_s", "timer")

    def __init__(
        self,
        job_id: str,
        frame: bytes,
        timeout_s: float | None,
        on_start: OnStart | None,
        future: asyncio.Future[ExecResult],
    ) -> None:
        self.id = job_id
        self.frame = frame
        self.timeout_s = timeout_s
        self.on_start = on_start
        self.future = future
        self.child: _Child | None = None
        self.started_at = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.finished = False


class _Child:
    """The parent's view of one executor process.

    ``state`` moves starting -> idle <-> busy -> retiring | dead; ``reaped`` once its exit status is in.
    """

    __slots__ = (
        "channel",
        "fatal",
        "job",
        "jobs_done",
        "kill_timer",
        "lost_job",
        "pid",
        "process",
        "ready",
        "reaped",
        "state",
        "watching",
    )

    def __init__(self, process: Any, ready: asyncio.Future[bool]) -> None:
        self.process = process
        self.pid: int = process.pid
        self.ready = ready
        self.state = "starting"
        self.channel: _Channel | None = None
        self.job: _Job | None = None
        self.lost_job: _Job | None = None
        self.jobs_done = 0
        self.fatal: str | None = None
        self.kill_timer: asyncio.TimerHandle | None = None
        self.watching = False
        self.reaped = False


class _Channel:
    """The parent's end of a child's socket, driven by the event loop's add_reader.

    Writes go straight to the socket; whatever does not fit is buffered and flushed by add_writer. A
    socket error or end of file closes the channel and tells the pool once.
    """

    __slots__ = ("_child", "_closed", "_fd", "_frames", "_in", "_in_view", "_loop", "_out", "_pool", "_sock")

    def __init__(self, pool: ExecutorPool, child: _Child, sock: socket.socket) -> None:
        self._pool = pool
        self._child = child
        self._sock = sock
        self._fd = sock.fileno()
        self._frames = _wire.FrameBuffer()
        self._out = bytearray()
        # One receive buffer, reused: recv() would allocate (and free) a fresh buffer per call.
        self._in = bytearray(_RECV_BUFFER)
        self._in_view = memoryview(self._in)
        self._closed = False
        loop = pool._loop
        assert loop is not None
        self._loop = loop
        sock.setblocking(False)
        loop.add_reader(self._fd, self._on_readable)

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if not self._out:
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._lost()
                return
            if sent == len(data):
                return
            data = data[sent:]
            self._loop.add_writer(self._fd, self._on_writable)
        self._out += data

    def _on_writable(self) -> None:
        try:
            sent = self._sock.send(self._out)
        except BlockingIOError:
            return
        except OSError:
            self._lost()
            return
        del self._out[:sent]
        if not self._out:
            self._loop.remove_writer(self._fd)

    def _on_readable(self) -> None:
        try:
            size = self._sock.recv_into(self._in)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            size = 0
        if not size:
            self._lost()
            return
        try:
            messages = self._frames.feed(self._in_view[:size])
        except ValueError:  # not our framing: the process code wrote to our socket
            self._lost()
            return
        for message in messages:
            self._pool._on_message(self._child, message)

    def close(self) -> None:
        """Close without telling the pool (it is the one closing)."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        if self._out:
            self._loop.remove_writer(self._fd)
        self._sock.close()

    def _lost(self) -> None:
        if self._closed:
            return
        self.close()
        self._pool._on_lost(self._child)
