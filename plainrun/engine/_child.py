"""The executor process: the loop that runs one job at a time for the pool.

The pool starts this module's :func:`main` in a fresh process (``forkserver`` or ``spawn``) and talks
to it over one socket with the framing of :mod:`plainrun.engine._wire`:

    parent -> child   {"id": job_id, "target": "pkg.mod:func", "payload": {...}}
    child -> parent   {"ready": pid} once, then one result per job:
                      {"id": job_id, "kind": "ok", "value": ...}
                      {"id": job_id, "kind": "error" | "memory",
                       "type": ..., "message": ..., "traceback": ...}
                      {"fatal": text} instead of "ready" when start-up fails

End of file on the socket means "exit now". A result of kind "memory" is the child's last message: it
exits after sending it, because a process that ran out of memory half-way is not worth trusting.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import resource
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any

from plainrun import heap
from plainrun.domain.storable import dumps, loads
from plainrun.engine._wire import HEADER

PR_SET_PDEATHSIG = 1


def main(sock: socket.socket, config: dict[str, Any]) -> None:
    """Serve jobs from ``sock`` until the parent closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(config["worker_pid"])
    sys.path[:] = config["sys_path"]
    sock.setblocking(True)
    reader = sock.makefile("rb", buffering=65536)
    try:
        for name in config["preload"]:
            importlib.import_module(name)
        limit_mb = config["memory_limit_mb"]
        if limit_mb:
            limit = int(limit_mb) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        heap.freeze()  # what the fork server and the preload made lives as long as this process
    except BaseException as exc:
        _send(sock, {"fatal": _describe(exc)})
        raise SystemExit(1) from None
    try:
        _send(sock, {"ready": os.getpid()})
        _serve(sock, reader, config["max_message_bytes"])
    except (BrokenPipeError, ConnectionResetError):
        pass  # the pool let us go (or died): nothing left to report to


def _serve(sock: socket.socket, reader: Any, max_message_bytes: int) -> None:
    cache: dict[str, Callable[[Any], Any]] = {}
    while True:
        header = reader.read(4)
        if len(header) < 4:
            return
        (size,) = HEADER.unpack(header)
        job = loads(reader.read(size))
        job_id = job["id"]
        try:
            func = cache.get(job["target"])
            if func is None:
                func = cache[job["target"]] = _resolve(job["target"])
            value = func(job["payload"])
            frame = dumps({"id": job_id, "kind": "ok", "value": value})
            if len(frame) > max_message_bytes:
                frame = _error_frame(
                    job_id,
                    "error",
                    "ResultTooLarge",
                    f"the result is {len(frame)} bytes, over the limit of {max_message_bytes}",
                    "",
                )
        except MemoryError as exc:
            _send_frame(sock, _failure(job_id, "memory", exc))
            raise SystemExit(3) from None
        except BaseException as exc:  # the process code's failure, whatever it is, is the result
            frame = _failure(job_id, "error", exc)
        _send_frame(sock, frame)


def _resolve(target: str) -> Callable[[Any], Any]:
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise ValueError(f"target {target!r} is not of the form 'package.module:function'")
    obj: Any = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        obj = getattr(obj, attr)
    if not callable(obj):
        raise TypeError(f"target {target!r} is not callable")
    return obj  # type: ignore[no-any-return]


def _failure(job_id: str, kind: str, exc: BaseException) -> bytes:
    try:
        message = str(exc)
    except Exception:
        message = f"<{type(exc).__name__} with an unprintable message>"
    try:
        # Skip this module's own frame: the traceback starts in the process code.
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except Exception:
        text = ""
    return _error_frame(job_id, kind, type(exc).__name__, message, text)


def _error_frame(job_id: str, kind: str, type_name: str, message: str, text: str) -> bytes:
    return dumps({"id": job_id, "kind": kind, "type": type_name, "message": message, "traceback": text})


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).strip()


def _send(sock: socket.socket, message: Any) -> None:
    _send_frame(sock, dumps(message))


def _send_frame(sock: socket.socket, body: bytes) -> None:
    sock.sendall(HEADER.pack(len(body)) + body)


def _release_fork_server() -> None:
    """Close the fork server's "alive" pipe that multiprocessing hands to every child it forks.

    The fork server exits when every holder of that pipe's write end is gone; while a child keeps
    it, the fork server outlives a killed worker, and so does the child (its death signal is tied
    to the fork server). Executor children never start processes of their own, so they let it go.
    """
    from multiprocessing import forkserver

    # multiprocessing keeps these as private attributes of its one fork server: no public API.
    server: Any = forkserver._forkserver
    fd = server._forkserver_alive_fd
    if fd is not None and server._forkserver_pid is None:  # we are a child, not the worker
        server._forkserver_alive_fd = None
        with contextlib.suppress(OSError):
            os.close(fd)


def _die_with_parent(worker_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if the worker is gone.

    With ``forkserver`` the parent is the fork server, which exits when the worker does; with
    ``spawn`` it is the worker itself. Either way the worker's death ends this process. The worker
    may have died before the prctl took effect, hence the check afterwards.
    """
    _release_fork_server()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    try:
        os.kill(worker_pid, 0)
    except ProcessLookupError:
        os._exit(1)
    except PermissionError:
        pass
