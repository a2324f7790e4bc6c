"""No 500 for bad input, an internal error answered as the ErrorModel on a connection that stays
open, and request heads bounded by the server that ``plainrun serve`` runs."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from plainrun.http import create_app
from plainrun.http.server import protocol
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings
from tests.security.conftest import GREET, settings_for


@dataclass
class Env:
    client: TestClient
    services: Services
    agent_id: str
    key: str

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(
            method, path, headers={"x-api-key": self.key, **kw.pop("headers", {})}, **kw
        )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    """Both databases: what each keeps of numbers and text differs."""
    settings = settings_for(database_url, tmp_path)
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        yield Env(client, services, agent.id, key)
    services.close()


def _raw(env: Env, method: str, path: str, body: str) -> httpx.Response:
    return env.call(method, path, content=body.encode(), headers={"content-type": "application/json"})


def _is_error_model(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert set(r.json()) == {"status_code", "message", "details"} and r.json()["status_code"] == status


def test_numbers_and_text_no_database_keeps_are_400s(env: Env) -> None:
    created = env.call("POST", "/v2/processes", json={"agent_id": env.agent_id, "source": GREET}).json()
    process_id = created["id"]
    env.call("POST", f"/v2/processes/{process_id}/publish")
    for version in (2**64, 2**63, 2**31, -1, 0):
        _is_error_model(env.call("GET", f"/v2/processes/{process_id}/versions/{version}"), 400)
    _is_error_model(env.call("GET", f"/v2/processes/{process_id}/versions/{2**31 - 1}"), 404)
    for setting in (f'{{"max_concurrency": {2**64}}}', f'{{"timeout_s": {2**64}}}', '{"timeout_s": 1e400}'):
        _is_error_model(_raw(env, "PATCH", f"/v2/processes/{process_id}", f'{{"settings": {setting}}}'), 400)
    run = {"name": "r", "process_id": process_id, "agent_id": env.agent_id, "stage": "Published"}
    for value in ('"\\ud800"', '"a\\udfffb"', '"nul \\u0000 inside"', "1" * 4001, "NaN"):
        inputs = f'{{"customer name": {value}}}'
        body = json.dumps(run)[:-1] + f', "inputs": {inputs}}}'
        _is_error_model(_raw(env, "POST", "/v2/runs", body), 400)
    for name in ('"\\ud800"', '"a\\u0000b"'):
        body = f'{{"agent_id": "{env.agent_id}", "source": {json.dumps(GREET)}, "name": {name}}}'
        _is_error_model(_raw(env, "POST", "/v2/processes", body), 400)
    assert env.call("GET", f"/v2/processes/{process_id}").json()["settings"]["timeout_s"] is None


# --- the server as `plainrun serve` runs it ----------------------------------------------------


@dataclass
class Server:
    port: int
    services: Services
    key: str

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer read from a kept-alive connection: status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture(params=[True, False], ids=["fast", "general"])
def server(request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path) -> Iterator[Server]:
    settings = Settings(
        database_url=sqlite_url, data_dir=tmp_path, key_cache_s=0, max_header_bytes=8192,
        max_headers=32, fast=request.param,
    )  # fmt: skip
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(settings, services=services)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol(settings), log_level="critical")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield Server(port, services, key)
    srv.should_exit = True
    thread.join(20)
    services.close()


def test_an_internal_error_is_the_error_model_and_the_connection_stays_open(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a secret detail of the failure")

    monkeypatch.setattr(server.services.processes, "page", broken)
    with server.connect() as sock:
        for _ in range(2):
            request = f"GET /v2/processes?agent_id=x HTTP/1.1\r\nHost: t\r\nx-api-key: {server.key}\r\n\r\n"
            sock.sendall(request.encode())
            status, headers, body = _answer(sock)
            assert status == 500 and headers["content-type"] == "application/json"
            assert json.loads(body) == {
                "status_code": 500,
                "message": "Internal server error",
                "details": None,
            }
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\n\r\n")
        assert _answer(sock)[0] == 200  # the same connection, still open


@pytest.mark.parametrize(
    "head",
    [
        "GET /livez HTTP/1.1\r\nHost: t\r\nx-big: " + "a" * 9000 + "\r\n\r\n",
        "GET /livez HTTP/1.1\r\nHost: t\r\n" + "".join(f"x-h{n}: v\r\n" for n in range(40)) + "\r\n",
        "GET /livez?" + "q" * 9000 + " HTTP/1.1\r\nHost: t\r\n\r\n",
    ],
    ids=["one-big-header", "too-many-headers", "long-request-line"],
)
def test_a_request_head_over_its_bounds_is_a_431_and_closes_the_connection(server: Server, head: str) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\n" + b"x-ok: 1\r\n" * 20 + b"\r\n")
        assert _answer(sock)[0] == 200  # within the bounds
        sock.sendall(head.encode())
        status, headers, body = _answer(sock)
        assert status == 431 and headers["connection"] == "close"
        assert json.loads(body)["message"].startswith("The request's headers are over their bound")
        assert _closed(sock)


def test_a_huge_header_is_refused_while_it_arrives_not_read_whole(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\nx-huge: ")
        sent = 0
        with pytest.raises(OSError):  # the server answered and closed: sending fails
            while sent < 100 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        assert sent < 16 * 1024 * 1024
