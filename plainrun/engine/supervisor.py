"""The worker of ``plainrun serve`` as a child process: it gets a core of its own.

The API and the worker in one process share one interpreter lock, so on a machine with two cores
one of them would idle while the other waits for its turn. ``WorkerProcess`` starts
``plainrun worker --parent PID`` beside the API, restarts it if it dies, and on ``stop()`` asks it to
finish (SIGTERM: it finishes or hands back the runs in flight). The child ends itself when its parent
dies, so a killed ``plainrun serve`` leaves no worker behind.

The child's Prometheus metrics reach ``serve``'s /metrics through prometheus-client's multiprocess
mode: the child writes them to files in ``metrics_dir`` and ``serve`` reads them when scraped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from prometheus_client import multiprocess

log = logging.getLogger(__name__)

_ENTRY = "from plainrun.cli import main; main()"


class WorkerProcess:
    def __init__(self, *args: str, grace_s: float = 10.0):
        self.args = list(args)
        self.grace_s = grace_s
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="plainrun-worker-process", daemon=True)
        #: Where the child writes its metrics (see ``plainrun.http.api.create_app(worker_metrics_dir=…)``).
        self.metrics_dir = tempfile.mkdtemp(prefix="plainrun-worker-metrics-")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._thread.start()

    def _supervise(self) -> None:
        # The child is started from this thread, which lives as long as the supervision: the child's
        # parent-death signal is tied to the thread that started it.
        delay = 0.5
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                cmd = [sys.executable, "-c", _ENTRY, "worker", "--parent", str(os.getpid()), *self.args]
                env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir}
                self._process = subprocess.Popen(cmd, env=env)
            code = self._process.wait()
            multiprocess.mark_process_dead(self._process.pid, self.metrics_dir)  # type: ignore[no-untyped-call]
            if self._stopping.is_set():
                return
            log.error("worker process exited; restarting", extra={"action": "worker_exited", "code": code})
            self._stopping.wait(delay)
            delay = min(delay * 2, 10.0)

    def stop(self) -> None:
        """Ask the worker to finish or hand back its runs, and wait for it (SIGKILL after the grace)."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.grace_s + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread.is_alive():
            self._thread.join(5)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
