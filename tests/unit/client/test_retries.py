"""The client's retries: which calls are sent again, after what, and with the same Idempotency-Key.
httpx's MockTransport plays the service (a live service cannot be made to fail on cue)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from plainrun.client import (
    AsyncClient,
    BadRequest,
    Client,
    NotFound,
    Retries,
    ServerError,
    ServiceUnreachable,
)

FAST = Retries(attempts=3, backoff=0.001, cap=0.01)
RUN = {
    "id": "r" * 25,
    "name": "n",
    "agent_id": "a" * 25,
    "process_id": "p" * 25,
    "stage": "Published",
    "status": "Created",
    "created_at": "2026-12-01T10:00:00.000000Z",
    "state": "Pending",
    "future_field": {"kept": True},
}


def flaky(*answers: int | type[httpx.TransportError]) -> tuple[list[httpx.Request], httpx.MockTransport]:
    """A service that answers each request with the next of ``answers`` (then 201/200 with RUN)."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0) if queue else (201 if request.method == "POST" else 200)
        if not isinstance(answer, int):
            raise answer("down", request=request)
        if answer >= 400:
            body = {"status_code": answer, "message": "no", "details": [{"name": "x", "value": 1}]}
            return httpx.Response(answer, json=body, headers={"retry-after": "0"})
        return httpx.Response(answer, json=RUN)

    return seen, httpx.MockTransport(handle)


def test_a_start_is_retried_after_5xx_429_and_drops_with_one_idempotency_key() -> None:
    seen, transport = flaky(503, httpx.ReadTimeout, 429)
    with Client("http://x", "k", retries=FAST, transport=transport) as client:
        run = client.start_run("p" * 25, "a" * 25, name="n", inputs={"amount": 1})
    assert run.id == RUN["id"] and run.wire() == RUN  # unknown fields kept, nothing added
    assert len(seen) == 4
    keys = {r.headers["idempotency-key"] for r in seen}
    assert len(keys) == 1 and len(keys.pop()) >= 16
    assert {r.headers["x-api-key"] for r in seen} == {"k"}
    assert json.loads(seen[0].content)["inputs"] == [{"name": "amount", "value": 1}]


def test_each_start_has_its_own_key_unless_given() -> None:
    seen, transport = flaky()
    with Client("http://x", "k", transport=transport) as client:
        client.start_run("p" * 25, "a" * 25, name="n")
        client.start_run("p" * 25, "a" * 25, name="n")
        client.start_run("p" * 25, "a" * 25, name="n", idempotency_key="mine")
    keys = [r.headers["idempotency-key"] for r in seen]
    assert keys[0] != keys[1] and keys[2] == "mine"


def test_a_call_not_safe_to_repeat_is_not_sent_again_after_a_5xx() -> None:
    seen, transport = flaky(503)
    with Client("http://x", retries=FAST, transport=transport) as client, pytest.raises(ServerError) as err:
        client.cancel_run("r" * 25)
    assert len(seen) == 1 and err.value.error.status_code == 503


def test_a_refused_connection_is_retried_whatever_the_call_then_unreachable() -> None:
    seen, transport = flaky(httpx.ConnectError, 201)
    with Client("http://x", retries=FAST, transport=transport) as client:
        client.cancel_run("r" * 25)
    assert len(seen) == 2
    seen, transport = flaky(*[httpx.ConnectError] * 4)
    with (
        Client("http://x", retries=FAST, transport=transport) as client,
        pytest.raises(ServiceUnreachable) as err,
    ):
        client.get_run("r" * 25)
    assert len(seen) == 4 and "could not be reached" in err.value.message


def test_errors_hold_the_error_model_and_4xx_is_not_retried() -> None:
    seen, transport = flaky(404, 400)
    with Client("http://x", retries=FAST, transport=transport) as client:
        with pytest.raises(NotFound) as missing:
            client.get_run("r" * 25)
        with pytest.raises(BadRequest) as bad:
            client.get_run("r" * 25)
    assert len(seen) == 2
    assert missing.value.error.message == "no" and bad.value.error.details[0].name == "x"


def test_the_async_client_retries_alike() -> None:
    seen, transport = flaky(502, 500)

    async def main() -> str:
        async with AsyncClient("http://x", "k", retries=FAST, transport=transport) as client:
            return (await client.start_run("p" * 25, "a" * 25, name="n")).id

    assert asyncio.run(main()) == RUN["id"]
    assert len(seen) == 3 and len({r.headers["idempotency-key"] for r in seen}) == 1


def test_backoff_grows_and_follows_retry_after() -> None:
    retries = Retries(attempts=5, backoff=1.0, cap=8.0)
    waits = [retries.wait(n) for n in range(5)]
    assert [0.5 <= w / min(8.0, 2**n) <= 1.0 for n, w in enumerate(waits)] == [True] * 5
    assert retries.wait(0, httpx.Response(429, headers={"retry-after": "3"})) == 3.0
