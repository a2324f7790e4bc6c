"""Cross-process wake-ups for the embedded database: one datagram socket per listening worker.

SQLite has no LISTEN/NOTIFY. Every worker on a database file binds a Unix datagram socket in a
folder named after that file (under the temporary directory, so the path stays short); whoever
commits new runs, or asks a running run to cancel, sends one datagram to each socket there:

    b"n"            new runs are pending
    b"c" + run_id   this run is asked to cancel

A datagram costs one system call and never blocks: a full socket buffer means the worker has
wake-ups queued already, and a socket whose worker is gone is removed. Polling stays the fallback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

NEW_RUNS = b"n"
CANCEL = b"c"
_REFRESH_S = 1.0


def wake_folder(database: str) -> Path:
    """The folder of the wake sockets of one database file (the same for every process using it)."""
    key = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"plainrun-wake-{key}"


class WakeSender:
    """Sends wake-ups to every worker listening on a database file; thread-safe, never raises."""

    def __init__(self, database: str):
        self.folder = wake_folder(database)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._lock = threading.Lock()
        self._targets: list[str] = []
        self._listed_at = -_REFRESH_S

    def _list(self) -> list[str]:
        now = time.monotonic()
        if now - self._listed_at >= _REFRESH_S:
            try:
                self._targets = [str(p) for p in self.folder.glob("*.sock")]
            except OSError:
                self._targets = []
            self._listed_at = now
        return self._targets

    def send(self, message: bytes) -> None:
        with self._lock:
            for target in self._list():
                try:
                    self._sock.sendto(message, target)
                except BlockingIOError:
                    pass  # its buffer is full of wake-ups already
                except (ConnectionRefusedError, FileNotFoundError):
                    # The worker is gone (a killed one leaves its socket file behind).
                    with contextlib.suppress(OSError):
                        os.unlink(target)
                    self._listed_at = -_REFRESH_S
                except OSError:
                    pass

    def close(self) -> None:
        self._sock.close()


class WakeReceiver:
    """A worker's socket: bound on creation, read without blocking, removed on close."""

    def __init__(self, database: str):
        folder = wake_folder(database)
        folder.mkdir(mode=0o700, exist_ok=True)
        self.path = str(folder / f"{os.getpid()}-{os.urandom(4).hex()}.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        self.sock.bind(self.path)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[bytes]:
        """Every datagram waiting now."""
        messages = []
        while True:
            try:
                messages.append(self.sock.recv(256))
            except (BlockingIOError, InterruptedError):
                return messages
            except OSError:
                return messages

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
