"""Webhooks end to end: real workers deliver run events to a real HTTP receiver on loopback, which
checks every signature with the Standard Webhooks library's own verification."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from standardwebhooks import Webhook

from plainrun.domain.runs import RunState
from plainrun.domain.webhooks import DeliveryState, Subscription
from plainrun.engine.worker import WorkerConfig
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings
from tests.integration.test_engine import GREET, EngineHarness, wait_for, worker_in_thread

FAIL = "to refuse\n  on exception: fail\n  get the vendor's tax number\n"
ASK = "to ask\n  get the vendor's tax number\n"


@dataclass
class Hit:
    at: float
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """An HTTP server on loopback: answers each POST with the next of ``answers`` (then 200);
    ``hold`` keeps the first request waiting until it is set (a receiver that does not answer)."""

    answers: list[int] = field(default_factory=list)
    secret: str = ""
    hits: list[Hit] = field(default_factory=list)
    hold: threading.Event | None = None

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except Exception:
                    verified = False
                receiver.hits.append(Hit(time.monotonic(), headers, body, verified))
                if receiver.hold is not None and len(receiver.hits) == 1:
                    receiver.hold.wait(60)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if status == 302:
                    self.send_header(
                        "location", f"http://127.0.0.1:{self.server.server_address[1]}/elsewhere"
                    )
                reply = b"received" if status < 300 else b"not now" * 500
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextlib.contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()


def settings_for(database_url: str, tmp_path: Path, **more: object) -> Settings:
    values: dict[str, object] = {
        "outbound_allow": "127.0.0.1",
        "webhook_retry_first_s": 0.5,
        "webhook_poll_s": 0.1,
        **more,
    }
    return Settings(database_url=database_url, data_dir=tmp_path, **values)  # type: ignore[arg-type]


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    built = build_services(settings_for(database_url, tmp_path), migrate=True)
    yield built
    built.close()


def subscribe(services: Services, harness: EngineHarness, url: str, receiver: Receiver) -> Subscription:
    subscription = services.webhooks.create(SYSTEM, agent_id=harness.agent_id, url=url)
    receiver.secret = subscription.secret
    return subscription


def test_events_reach_the_receiver_signed_and_a_failing_one_is_retried_with_backoff(
    services: Services,
) -> None:
    receiver = Receiver(answers=[500, 503])
    with receiving(receiver) as url, worker_in_thread(services, WorkerConfig(executor_size=1, concurrency=4)):
        harness = EngineHarness(services)
        subscription = subscribe(services, harness, url, receiver)
        run_id = harness.start(harness.process(GREET), **{"customer name": "Ada"})
        harness.wait_state(run_id, RunState.SUCCEEDED)
        wait_for(lambda: len(receiver.hits) == 3, 60, "three tries of the delivery")
        failing = harness.start(harness.process(FAIL))
        harness.wait_state(failing, RunState.FAILED)
        wait_for(lambda: len(receiver.hits) == 4, 60, "the failed run's event")
        asking = harness.start(harness.process(ASK))
        harness.wait_state(asking, RunState.AWAITING_GUIDANCE)
        wait_for(lambda: len(receiver.hits) == 5, 60, "the question's event")
        services.runs.cancel(SYSTEM, asking)
        wait_for(lambda: len(receiver.hits) == 6, 60, "the cancel's event")
        page = services.webhooks.deliveries(SYSTEM, subscription.id)
    assert all(hit.verified for hit in receiver.hits)
    first, second, third, failed, asked, cancelled = receiver.hits
    told = [
        (orjson.loads(h.body)["type"], orjson.loads(h.body)["data"]["run_id"]) for h in (asked, cancelled)
    ]
    assert told == [("run.waiting_for_guidance", asking), ("run.cancelled", asking)]
    # Every try of one delivery is the same message: the same id and body, signed again.
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"]
    assert first.body == second.body == third.body
    assert first.headers["content-type"] == "application/json"
    sent = orjson.loads(first.body)
    assert sent["type"] == "run.succeeded" and sent["data"]["run_id"] == run_id
    assert sent["data"]["state"] == "Succeeded" and sent["data"]["status"] == "Succeeded"
    assert orjson.loads(failed.body)["type"] == "run.failed"
    assert failed.headers["webhook-id"] != first.headers["webhook-id"]
    by_run = {d.run_id: (d, attempts) for d, attempts in page.items}
    delivery, attempts = by_run[run_id]
    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 3
    assert [a.status_code for a in attempts] == [500, 503, 200]
    # Backoff: each try starts 0.5 s after the first one started, twice that after the second.
    assert (attempts[1].at - attempts[0].at).total_seconds() >= 0.5
    assert (attempts[2].at - attempts[1].at).total_seconds() >= 1.0
    assert len(attempts[0].response) == 1000 and attempts[2].response == "received"
    assert all(a.duration_ms >= 0 and a.error is None for a in attempts)


def test_refused_targets_are_not_reached_and_redirects_are_not_followed(
    services: Services, database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(answers=[302])
    with receiving(receiver) as url:
        harness = EngineHarness(services)
        subscription = subscribe(services, harness, url, receiver)
        run_id = harness.start(harness.process(GREET), **{"customer name": "Ada"})
        services.runs.cancel(SYSTEM, run_id)
        [(delivery, sub)] = services.webhooks.claim(limit=5, lease_s=60)
        redirected = services.webhooks.deliver(delivery, sub)
        # A host whose rules do not allow loopback refuses the same delivery after resolving it;
        # its retries end at once (the day of tries is a millisecond here): the delivery is Failed.
        strict = build_services(
            settings_for(database_url, tmp_path, outbound_allow="", webhook_retry_for_s=0.001)
        )
        try:
            again = services.webhooks.store.webhooks.delivery(delivery.id)
            assert again is not None
            refused = strict.webhooks.deliver(again, sub)
        finally:
            strict.close()
    assert redirected.status_code == 302 and not redirected.ok
    assert [hit.headers.get("webhook-id") for hit in receiver.hits] == [
        f"msg_{delivery.id}"
    ]  # not /elsewhere
    assert (
        refused.status_code is None and refused.error is not None and "not a public address" in refused.error
    )
    assert len(receiver.hits) == 1
    final = services.webhooks.store.webhooks.delivery(delivery.id)
    assert final is not None and final.state is DeliveryState.FAILED and final.attempts == 2
    assert final.ended_at is not None and not services.webhooks.due()
    assert subscription.url == url


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [str(Path(sys.executable).parent / "plainrun"), "worker", "--lease", "2", "--executors", "1"]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL, start_new_session=True)


def test_an_event_committed_before_the_worker_died_is_still_delivered(
    services: Services, database_url: str, tmp_path: Path
) -> None:
    """Killed after the run's change committed and before any delivery; then killed again in the
    middle of a try: the next worker delivers it all the same."""
    receiver = Receiver(hold=threading.Event())
    env = {
        **os.environ,
        "PLAINRUN_DATABASE_URL": database_url,
        "PLAINRUN_DATA_DIR": str(tmp_path),
        "PLAINRUN_OUTBOUND_ALLOW": "127.0.0.1",
        "PLAINRUN_WEBHOOK_POLL_S": "0.1",
        "PLAINRUN_WEBHOOK_TIMEOUT_S": "3",
    }
    workers: list[subprocess.Popen[bytes]] = []
    with receiving(receiver) as url:
        harness = EngineHarness(services)
        subscription = subscribe(services, harness, url, receiver)
        try:
            workers.append(_worker({**env, "PLAINRUN_WEBHOOK_DELIVERY": "false"}))
            run_id = harness.start(harness.process(GREET), **{"customer name": "Ada"})
            harness.wait_state(run_id, RunState.SUCCEEDED, timeout=60)
            os.killpg(workers[-1].pid, signal.SIGKILL)  # after the commit, before any delivery
            workers[-1].wait(30)
            assert receiver.hits == [] and services.webhooks.pending() == 1
            workers.append(_worker(env))
            wait_for(lambda: len(receiver.hits) == 1, 60, "the second worker's try")
            os.killpg(workers[-1].pid, signal.SIGKILL)  # in the middle of the try
            workers[-1].wait(30)
            workers.append(_worker(env))
            wait_for(lambda: len(receiver.hits) == 2, 60, "the third worker's try, once the lease passed")
            wait_for(lambda: services.webhooks.pending() == 0, 30, "the delivery recorded")
        finally:
            for w in workers:
                if w.poll() is None:
                    os.killpg(w.pid, signal.SIGTERM)
                    w.wait(30)
        [(delivery, attempts)] = services.webhooks.deliveries(SYSTEM, subscription.id).items
    first, second = receiver.hits
    assert first.verified and second.verified and first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{delivery.id}"
    assert delivery.state is DeliveryState.DELIVERED and [a.status_code for a in attempts] == [200]
