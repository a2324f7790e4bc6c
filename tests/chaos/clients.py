"""Clients that start runs through ``POST /v2/runs`` without pause, and remember what was answered."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.chaos.harness import Installation


@dataclass
class Posted:
    tag: str
    at: float  # when the request was sent
    status: int | None  # None: no answer (the connection broke or timed out)
    run_id: str | None = None
    error: str | None = None


@dataclass
class Clients:
    """``n`` threads posting tagged runs to ``url`` until stopped."""

    inst: Installation
    url: str
    sink: str
    n: int = 4
    #: Seconds each client waits between two runs (bounds the load, whatever the server's speed).
    pause: float = 0.1
    posted: list[Posted] = field(default_factory=list)
    #: Answers other than 201 that are not the spec's ErrorModel.
    malformed: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _tags: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _post(self, client: httpx.Client) -> None:
        while not self._stop.is_set():
            with self._lock:
                tag = f"c{next(self._tags):06d}"
            at = time.time()
            try:
                response = client.post(f"{self.url}/v2/runs", json=self.inst.body(tag, self.sink))
            except httpx.TransportError as exc:
                self._record(Posted(tag, at, None, error=type(exc).__name__))
                time.sleep(0.05)
                continue
            try:
                body = response.json()
            except ValueError:
                body = {"text": response.text[:200]}
            if response.status_code == 201:
                self._record(Posted(tag, at, 201, run_id=body["id"]))
                self._stop.wait(self.pause)
                continue
            if (
                set(body) != {"status_code", "message", "details"}
                or body["status_code"] != response.status_code
            ):
                self.malformed.append(f"{response.status_code}: {body}")  # not the spec's ErrorModel
            self._record(Posted(tag, at, response.status_code, error=body.get("message")))
            time.sleep(0.05)

    def _record(self, posted: Posted) -> None:
        with self._lock:
            self.posted.append(posted)

    def _main(self) -> None:
        headers = {"x-api-key": self.inst.api_key}
        # A fresh connection per request: a killed server must not strand a keep-alive socket.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(headers=headers, timeout=10, limits=limits) as client:
            self._post(client)

    def __enter__(self) -> Clients:
        for _ in range(self.n):
            thread = threading.Thread(target=self._main, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
            assert not thread.is_alive(), "a client did not stop"

    def acknowledged(self) -> dict[str, str]:
        """Run id -> tag of every POST answered 201."""
        with self._lock:
            return {p.run_id: p.tag for p in self.posted if p.status == 201 and p.run_id}

    def count(self, status: int | None, after: float = 0.0) -> int:
        with self._lock:
            return sum(1 for p in self.posted if p.status == status and p.at >= after)

    def first(self, status: int | None, after: float) -> float | None:
        with self._lock:
            return min((p.at for p in self.posted if p.status == status and p.at >= after), default=None)
