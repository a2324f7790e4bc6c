"""What a client written for Kognitos's REST API v2 meets, over HTTP with a real worker, on SQLite and
PostgreSQL: the files flow then a run, values kept exactly or refused saying why, the specification's
bounds on every run served, and idempotent starts that survive another server and a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from plainrun.domain.clock import utcnow
from plainrun.domain.idempotency import TTL, Key, KeyRecord
from plainrun.domain.runs import Stage, Trigger
from plainrun.engine.worker import WorkerConfig
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings
from tests.integration.test_api import ERROR_MODEL, RUN_RESOURCE, spec_validator

RUN_OUTPUT = spec_validator("RunOutput")
#: Reads its one file, and computes with its input: a square beyond 64 bits for an amount of 2**40.
ATTACHMENT = (
    "to check an attachment\n"
    "  read the text of the file\n"
    "  the output text is the above\n"
    "  the output square is the amount * the amount\n"
)
LONG = " ".join(["quarterly"] * 12)  # 119 characters
LONG_OUTPUT = f'to name a thing\n  the output {LONG} is "done"\n  the output short is 1\n'


@dataclass
class Server:
    client: TestClient
    services: Services
    settings: Settings
    agent_id: str
    key: str
    admin_key: str

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"x-api-key": key or self.key, **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def process(self, source: str) -> str:
        made = self.call("POST", "/v2/processes", json={"agent_id": self.agent_id, "source": source})
        assert made.status_code == 201, made.text
        assert self.call("POST", f"/v2/processes/{made.json()['id']}/publish").status_code == 201
        return str(made.json()["id"])

    def body(self, process_id: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": "a run",
            "process_id": process_id,
            "agent_id": self.agent_id,
            "stage": "Published",
        } | extra


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url, data_dir=data_dir, key_cache_s=0, public_url="http://testserver"
    )


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    settings = settings_for(database_url, tmp_path)
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    _, admin_key = services.keys.create(agent_id=None)
    worker = WorkerConfig(executor_size=1, concurrency=2, poll_s=0.2)
    app = create_app(settings, services=services, worker=worker)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Server(client, services, settings, agent.id, key, admin_key)
    services.close()


class KognitosClient:
    """A client written from Kognitos's documents alone: the files flow, then the runs concepts read
    literally (a run is started by an HTTP request, runs execute asynchronously from Pending, and once
    it completes successfully its output becomes available)."""

    def __init__(self, http: httpx.Client, base_url: str, api_key: str, agent_id: str):
        self.http, self.base_url, self.agent_id = http, base_url, agent_id
        self.headers = {"x-api-key": api_key}

    def upload(self, file_name: str, data: bytes, *, agent_id: str | None = None) -> dict[str, Any]:
        body = {"file_name": file_name} | ({"agent_id": agent_id} if agent_id else {})
        target = self.http.post(f"{self.base_url}/v2/files", headers=self.headers, json=body)
        assert target.status_code == 201, target.text
        upload = target.json()
        sent = self.http.request(
            upload["upload_http_method"],
            upload["upload_url"],
            headers=upload["upload_http_headers"],
            content=data,
        )
        assert sent.is_success, sent.text
        return dict(upload)

    def start_run(self, process_id: str, name: str, inputs: list[dict[str, Any]], file_ids: list[str]) -> Any:
        body = {
            "name": name,
            "process_id": process_id,
            "agent_id": self.agent_id,
            "stage": "Published",
            "inputs": inputs,
            "file_ids": file_ids,
        }
        started = self.http.post(f"{self.base_url}/v2/runs", headers=self.headers, json=body)
        assert started.status_code == 201, started.text
        return started.json()

    def wait(self, run_id: str, timeout: float = 90) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            run = self.http.get(f"{self.base_url}/v2/runs/{run_id}", headers=self.headers).json()
            if run["status"] not in ("Created", "Running") or time.monotonic() > deadline:
                return run
            time.sleep(0.1)


# --- 1. the files flow --------------------------------------------------------------------------


def test_a_client_written_for_kognitos_uploads_a_file_and_runs_unchanged(server: Server) -> None:
    process_id = server.process(ATTACHMENT)
    client = KognitosClient(server.client, "http://testserver", server.key, server.agent_id)
    name = "i" * 252 + ".txt"  # 256 characters, Kognitos's bound
    target = client.upload(name, b"net 30 days\n", agent_id=server.agent_id)
    assert {
        "id",
        "file_name",
        "upload_url",
        "upload_http_method",
        "upload_http_headers",
        "upload_fields",
    } <= set(target)
    assert target["file_name"] == name and target["upload_http_method"] == "PUT"
    inputs = [{"name": "amount", "value": 2**40}, {"name": "reference", "value": 2**70}]
    run = client.start_run(process_id, "with a file", inputs, [target["id"]])
    RUN_RESOURCE.validate(run)
    assert run["status"] == "Created" and run["file_ids"] == [target["id"]]
    done = client.wait(run["id"])
    RUN_RESOURCE.validate(done)
    assert done["status"] == "Succeeded", (done["state"], done["error"])
    outputs = {o["name"]: o["value"] for o in done["outputs"]}
    assert outputs["text"].strip() == "net 30 days"
    assert outputs["square"] == 2**80 and type(outputs["square"]) is int  # beyond 64 bits, exact
    assert done["inputs"] == inputs
    # With the agent's own key agent_id may be left out; `name` is taken for `file_name`.
    scoped = client.upload("second.txt", b"x")
    assert scoped["agent_id"] == server.agent_id
    aliased = server.call("POST", "/v2/files", json={"name": "third.txt"})
    assert aliased.status_code == 201 and aliased.json()["file_name"] == "third.txt"
    # The multipart POST of the upload fields still works against the same URL.
    posted = server.client.post(
        aliased.json()["upload_url"], data=aliased.json()["upload_fields"], files={"file": ("t", b"y")}
    )
    assert posted.status_code == 204, posted.text
    assert server.call("GET", f"/v2/files/{aliased.json()['id']}/content").content == b"y"


def test_a_file_target_is_refused_clearly_when_it_cannot_be_made(server: Server) -> None:
    cases = [
        (server.admin_key, {"file_name": "a.txt"}, 400, "agent_id is required"),
        (server.key, {"file_name": "a" * 257}, 400, "Invalid input"),
        (server.key, {"agent_id": server.agent_id}, 400, "Invalid input"),
        (server.key, {"file_name": "a.txt", "agent_id": "0" * 25}, 404, "not found"),
    ]
    for key, body, status, message in cases:
        answer = server.call("POST", "/v2/files", key, json=body)
        assert answer.status_code == status, answer.text
        ERROR_MODEL.validate(answer.json())
        assert message in answer.json()["message"]
    target = server.call("POST", "/v2/files", json={"file_name": "a.txt"}).json()
    wrong = target["upload_url"].replace("token=", "token=x")
    refused = server.client.put(wrong, content=b"x")
    assert refused.status_code == 400 and "not valid" in refused.json()["message"]
    assert server.client.put(target["upload_url"], content=b"x").status_code == 204
    again = server.client.put(target["upload_url"], content=b"y")
    assert again.status_code == 409


# --- 2. values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"1e400", "finite"),
        (b"-1e400", "finite"),
        (b"NaN", "NaN"),
        (b"Infinity", "finite"),
        (b"1" + b"0" * 4000, "4000 digits"),
    ],
)
def test_numbers_that_cannot_be_kept_exactly_are_refused_saying_why(
    server: Server, raw: bytes, why: str
) -> None:
    process_id = server.process(ATTACHMENT)
    body = (
        b'{"name": "n", "process_id": "%s", "agent_id": "%s", "stage": "Published", '
        b'"inputs": [{"name": "amount", "value": %s}]}' % (process_id.encode(), server.agent_id.encode(), raw)
    )
    answer = server.call("POST", "/v2/runs", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    ERROR_MODEL.validate(answer.json())
    assert why in answer.json()["message"]


def test_whole_numbers_beyond_64_bits_are_kept_and_served_exactly(server: Server) -> None:
    process_id = server.process(LONG_OUTPUT)
    values = [2**64, -(2**63) - 1, 10**100 + 1, 123456789012345678901234567890, 0.1, 1e20, "text"]
    inputs = [{"name": f"v{i}", "value": v} for i, v in enumerate(values)]
    run = server.call("POST", "/v2/runs", json=server.body(process_id, inputs=inputs))
    assert run.status_code == 201, run.text
    assert b"123456789012345678901234567890" in run.content
    for answer in (run, server.call("GET", f"/v2/runs/{run.json()['id']}")):
        RUN_RESOURCE.validate(answer.json())
        assert answer.json()["inputs"] == inputs
        assert [type(i["value"]) for i in answer.json()["inputs"]] == [int, int, int, int, float, float, str]


# --- 3. bounds ----------------------------------------------------------------------------------


def test_runs_served_keep_the_specifications_bounds_from_every_path(server: Server) -> None:
    process_id = server.process(LONG_OUTPUT)
    run = server.call("POST", "/v2/runs", json=server.body(process_id)).json()
    client = KognitosClient(server.client, "http://testserver", server.key, server.agent_id)
    done = client.wait(run["id"])
    assert done["status"] == "Succeeded", (done["state"], done["error"])
    for output in done["outputs"]:
        RUN_OUTPUT.validate(output)
    assert [len(o["name"]) for o in done["outputs"]] == [100, 5]
    assert done["outputs"][0]["name"].startswith("quarterly quarterly")
    # A re-run, and a start with a long name as an e-mail subject gives: each within maxLength 100.
    rerun = server.call("POST", "/v2/runs/rerun", json={"run_ids": [run["id"]]}).json()["results"][0]
    manual = server.services.runs.start(
        SYSTEM, RunRequest(server.agent_id, process_id, Stage.PUBLISHED, "n" * 150, trigger=Trigger.EMAIL)
    )
    for run_id in (rerun["new_run_id"], manual.id):
        served = server.call("GET", f"/v2/runs/{run_id}").json()
        RUN_RESOURCE.validate(served)
    assert len(server.call("GET", f"/v2/runs/{manual.id}").json()["name"]) == 100


# --- 4. idempotent starts -----------------------------------------------------------------------


def test_a_retry_with_the_same_key_gets_the_first_run_and_another_body_a_422(server: Server) -> None:
    process_id = server.process(LONG_OUTPUT)
    key = {"Idempotency-Key": "order-1042"}
    first = server.call("POST", "/v2/runs", json=server.body(process_id), headers=key)
    assert first.status_code == 201, first.text
    time.sleep(0.5)  # the worker may well have taken the run meanwhile: the answer is still the first one
    again = server.call("POST", "/v2/runs", json=server.body(process_id), headers=key)
    assert again.status_code == 200 and again.json() == first.json()
    other = server.call("POST", "/v2/runs", json=server.body(process_id, name="another"), headers=key)
    assert other.status_code == 422
    ERROR_MODEL.validate(other.json())
    assert "Idempotency-Key" in other.json()["message"]
    listed = server.call("GET", "/v2/runs", params={"process_id": process_id, "agent_id": server.agent_id})
    assert [r["id"] for r in listed.json()["items"]] == [first.json()["id"]]
    # The bulk re-run: the same key gives the first results (no second re-run), other ids a 422.
    rerun_key = {"Idempotency-Key": "rerun-7"}
    body = {"run_ids": [first.json()["id"]]}
    made = server.call("POST", "/v2/runs/rerun", json=body, headers=rerun_key)
    repeated = server.call("POST", "/v2/runs/rerun", json=body, headers=rerun_key)
    assert made.status_code == repeated.status_code == 200 and made.json() == repeated.json()
    assert made.json()["results"][0]["result"] == "started"
    refused = server.call("POST", "/v2/runs/rerun", json={"run_ids": ["0" * 25]}, headers=rerun_key)
    assert refused.status_code == 422
    listed = server.call("GET", "/v2/runs", params={"process_id": process_id, "agent_id": server.agent_id})
    assert len(listed.json()["items"]) == 2
    # A key longer than 255 characters is a 400.
    bad = server.call(
        "POST", "/v2/runs", json=server.body(process_id), headers={"Idempotency-Key": "k" * 256}
    )
    assert bad.status_code == 400


def test_a_retry_through_another_server_or_after_a_restart_gets_the_same_run(
    server: Server, tmp_path: Path
) -> None:
    process_id = server.process(LONG_OUTPUT)
    key = {"Idempotency-Key": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}
    first = server.call("POST", "/v2/runs", json=server.body(process_id), headers=key)
    assert first.status_code == 201
    for _ in range(2):  # another server on the same database, then that one restarted
        services = build_services(server.settings, migrate=False)
        try:
            with TestClient(create_app(server.settings, services=services)) as other:
                again = other.post(
                    "/v2/runs", json=server.body(process_id), headers={"x-api-key": server.key, **key}
                )
        finally:
            services.close()
        assert again.status_code == 200 and again.json() == first.json()


def test_an_expired_key_is_forgotten_and_swept(server: Server) -> None:
    process_id = server.process(LONG_OUTPUT)
    long_ago = utcnow() - TTL - TTL
    for key in ("old", "older"):
        stale = KeyRecord.first(Key(server.agent_id, key, "0" * 64), {"run_ids": ["0" * 25]}, long_ago)
        assert server.services.store.idempotency.start(stale, []) is None
    fresh = server.call("POST", "/v2/runs", json=server.body(process_id), headers={"Idempotency-Key": "old"})
    assert fresh.status_code == 201  # the old key no longer counts: a new run
    # The start swept every expired key (the other one too): nothing is left to sweep.
    assert server.services.store.idempotency.sweep(utcnow()) == 0
    again = server.call("POST", "/v2/runs", json=server.body(process_id), headers={"Idempotency-Key": "old"})
    assert again.status_code == 200 and again.json()["id"] == fresh.json()["id"]
