"""Clients that start runs through ``POST /v2/runs`` without pause, and remember what was answered.

A client with ``retry_with_key`` sends each run with an ``Idempotency-Key`` of its own and, when the
request is cut off or answered 5xx, sends the same request with the same key again until it is
answered: such a client must never start a run twice (the server keeps keys in the database, so a
retry through the restarted server finds the first run).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
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
    #: The Idempotency-Key it was sent with (a client that retries with a key).
    key: str | None = None


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
    #: Send each run with an Idempotency-Key and retry it, same key, until it is answered.
    retry_with_key: bool = False
    #: How long a keyed client goes on retrying one request (the server is restarted meanwhile).
    retry_for: float = 90.0
    #: Answers other than 201 (or a keyed retry's 200) that are not the spec's ErrorModel.
    malformed: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _tags: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _post(self, client: httpx.Client) -> None:
        while not self._stop.is_set():
            with self._lock:
                tag = f"{'k' if self.retry_with_key else 'c'}{next(self._tags):06d}"
            key = f"{tag}-{uuid.uuid4()}" if self.retry_with_key else None
            if self._send(client, tag, key):
                self._stop.wait(self.pause)
            else:
                time.sleep(0.05)

    def _send(self, client: httpx.Client, tag: str, key: str | None) -> bool:
        """Post one tagged run (again and again with its key, when it has one, until answered);
        whether it was started."""
        headers = {"Idempotency-Key": key} if key else {}
        give_up = time.monotonic() + self.retry_for
        while True:
            at = time.time()
            try:
                response = client.post(
                    f"{self.url}/v2/runs", json=self.inst.body(tag, self.sink), headers=headers
                )
            except httpx.TransportError as exc:
                self._record(Posted(tag, at, None, error=type(exc).__name__, key=key))
                if key is None or time.monotonic() > give_up:
                    return False
                time.sleep(0.05)
                continue
            try:
                body = response.json()
            except ValueError:
                body = {"text": response.text[:200]}
            if response.status_code == 201 or (key is not None and response.status_code == 200):
                self._record(Posted(tag, at, response.status_code, run_id=body["id"], key=key))
                return True
            if (
                set(body) != {"status_code", "message", "details"}
                or body["status_code"] != response.status_code
            ):
                self.malformed.append(f"{response.status_code}: {body}")  # not the spec's ErrorModel
            self._record(Posted(tag, at, response.status_code, error=body.get("message"), key=key))
            if key is None or response.status_code < 500 or time.monotonic() > give_up:
                return False
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
            thread.join(self.retry_for + 30)
            assert not thread.is_alive(), "a client did not stop"

    def acknowledged(self) -> dict[str, str]:
        """Run id -> tag of every POST answered 201 (or, for a keyed retry, 200)."""
        with self._lock:
            return {p.run_id: p.tag for p in self.posted if p.status in (200, 201) and p.run_id}

    def answers_by_tag(self) -> dict[str, list[Posted]]:
        """Every attempt of each tagged run, in order."""
        out: dict[str, list[Posted]] = {}
        with self._lock:
            for p in self.posted:
                out.setdefault(p.tag, []).append(p)
        return out

    def count(self, status: int | None, after: float = 0.0) -> int:
        with self._lock:
            return sum(1 for p in self.posted if p.status == status and p.at >= after)

    def first(self, status: int | None, after: float) -> float | None:
        with self._lock:
            return min((p.at for p in self.posted if p.status == status and p.at >= after), default=None)
