"""Bounds and bad input: bodies, uploads, process sources, lists, file names, text that is not text.

Every refusal is the spec's ErrorModel with the status the README documents (400 invalid input,
413 over a bound), and a refused upload leaves nothing behind.
"""

from __future__ import annotations

import email.message
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from plainrun.domain.runs import RunQuery
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from tests.security.conftest import GREET, MAX_BODY, MAX_SOURCE, MAX_UPLOAD, settings_for


@dataclass
class Env:
    client: TestClient
    services: Services
    agent_id: str
    key: str
    data_dir: Path

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(
            method, path, headers={"x-api-key": self.key, **kw.pop("headers", {})}, **kw
        )

    def process(self, source: str = GREET) -> str:
        r = self.call("POST", "/v2/processes", json={"agent_id": self.agent_id, "source": source})
        assert r.status_code == 201, r.text
        assert self.call("POST", f"/v2/processes/{r.json()['id']}/publish").status_code == 201
        return str(r.json()["id"])

    def target(self, name: str = "a.txt") -> dict[str, Any]:
        r = self.call("POST", "/v2/files", json={"agent_id": self.agent_id, "name": name})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def upload(self, target: dict[str, Any], data: bytes, filename: str = "x.bin") -> httpx.Response:
        return self.client.post(
            f"/v2/files/{target['file_id']}/upload",
            data=target["upload_fields"],
            files={"file": (filename, data, "application/octet-stream")},
        )

    def blobs(self) -> list[Path]:
        return sorted(p for p in (self.data_dir / "files").rglob("*") if p.is_file())


def make_env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = settings_for(database_url, tmp_path)
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        yield Env(client, services, agent.id, key, tmp_path)
    services.close()


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> Iterator[Env]:
    """Bounds enforced above the database: the embedded default is enough."""
    yield from make_env(sqlite_url, tmp_path)


@pytest.fixture
def db_env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    """Text the databases store differently (PostgreSQL refuses NUL characters): both databases."""
    yield from make_env(database_url, tmp_path)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status_code", "message", "details"} and body["status_code"] == status
    assert isinstance(body["message"], str) and "Traceback" not in response.text
    return body  # type: ignore[no-any-return]


# --- request bodies --------------------------------------------------------------------------------


def test_a_ten_megabyte_json_body_is_refused_with_413_by_length_and_while_streaming(env: Env) -> None:
    process_id = env.process()
    big = b'{"name": "x", "inputs": {"a": "' + b"x" * (10 * 1024 * 1024) + b'"}}'
    headers = {"content-type": "application/json"}
    body = assert_error(env.call("POST", "/v2/runs", content=big, headers=headers), 413)
    assert str(MAX_BODY) in body["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the bound is passed
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    assert_error(env.call("POST", "/v2/runs", content=chunks(), headers=headers), 413)
    # A lying Content-Length does not get past the bound either.
    assert_error(env.call("POST", f"/v2/processes/{process_id}/publish", content=big, headers=headers), 413)
    assert env.services.store.runs.page(RunQuery(process_id=process_id), limit=10) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b'"a string"',
        b"\xff\xfe{}",
        b'{"name": "x", "name": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"name": "\\ud800", "process_id": "a", "agent_id": "a", "stage": "Draft"}',
    ],
    ids=["truncated", "array", "string", "not utf-8", "deep nesting", "lone surrogate"],
)
def test_malformed_json_is_a_400(env: Env, body: bytes) -> None:
    assert_error(
        env.call("POST", "/v2/runs", content=body, headers={"content-type": "application/json"}), 400
    )


TEXT_FIELDS = [
    ("/v2/processes", "source"),
    ("/v2/processes", "name"),
    ("/v2/processes", "description"),
    ("/v2/files", "name"),
    ("/v2/files", "content_type"),
    ("/v2/runs", "name"),
    ("/v2/runs", "inputs"),
]


def test_text_that_cannot_be_stored_is_refused_or_read_back_never_a_500(db_env: Env) -> None:
    """One environment per database for every field (a fresh PostgreSQL database costs seconds)."""
    process_id = db_env.process()
    problems = []
    for path, field in TEXT_FIELDS:
        for bad in ("\ud800", "\x00"):
            body: dict[str, Any] = {
                "agent_id": db_env.agent_id,
                "source": GREET,
                "name": "n",
                "process_id": process_id,
                "stage": "Published",
            }
            if field == "source":
                body[field] = f"to go\n  say 1 {bad}\n"
            elif field == "inputs":
                body[field] = {"customer name": f"a{bad}b", f"k{bad}": 1}
            else:
                body[field] = f"a{bad}b"
            raw = json.dumps(body).encode()  # ASCII: the character travels as its escape
            r = db_env.call("POST", path, content=raw, headers={"content-type": "application/json"})
            if r.status_code == 400:
                assert_error(r, 400)
            elif r.status_code == 201:  # accepted: it reads back
                again = db_env.call("GET", f"{path}/{r.json()['id']}")
                if again.status_code != 200:
                    problems.append(f"{path} {field} {bad!r}: read back {again.status_code} {again.text}")
            else:
                problems.append(f"{path} {field} {bad!r}: {r.status_code} {r.text}")
    assert problems == []


# --- process sources -------------------------------------------------------------------------------


def test_a_process_source_over_the_bound_is_refused_with_413_and_not_stored(env: Env) -> None:
    source = GREET + "".join(f'  say "line {i} {"x" * 60}"\n' for i in range(MAX_SOURCE // 60))
    assert len(source.encode()) > MAX_SOURCE
    body = assert_error(
        env.call("POST", "/v2/processes", json={"agent_id": env.agent_id, "source": source}), 413
    )
    assert str(MAX_SOURCE) in body["message"]
    process_id = env.process()
    assert_error(env.call("PATCH", f"/v2/processes/{process_id}", json={"source": source}), 413)
    shown = env.call("GET", f"/v2/processes/{process_id}").json()
    assert shown["source"] == GREET and shown["draft_revision"] == 1
    listed = env.call("GET", "/v2/processes", params={"agent_id": env.agent_id}).json()["items"]
    assert [p["id"] for p in listed] == [process_id]


# --- list sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1, 101, 10**12, "ten"])
def test_list_limits_outside_1_to_100_are_a_400(env: Env, limit: object) -> None:
    process_id = env.process()
    assert_error(
        env.call(
            "GET", "/v2/runs", params={"process_id": process_id, "agent_id": env.agent_id, "limit": limit}
        ),
        400,
    )
    assert_error(env.call("GET", "/v2/processes", params={"agent_id": env.agent_id, "limit": limit}), 400)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/runs/archive", {"run_ids": ["0" * 25] * 101}),
        ("/v2/runs/rerun", {"run_ids": []}),
        ("/v2/test-cases", {"run_ids": ["0" * 25] * 101}),
        ("/v2/runs", {"file_ids": ["0" * 25] * 101}),
        ("/v2/processes", {"source": GREET, "description": "d" * 1001}),
        ("/v2/test-runs", {"process_ids": ["0" * 25] * 101}),
    ],
)
def test_lists_and_texts_in_bodies_are_bounded(env: Env, path: str, body: dict[str, Any]) -> None:
    full = {"name": "x", "process_id": "0" * 25, "agent_id": env.agent_id, "stage": "Draft", **body}
    assert_error(env.call("POST", path, json=full), 400)


def test_a_run_list_is_never_longer_than_its_limit(env: Env) -> None:
    process_id = env.process()
    for _ in range(5):
        assert (
            env.call(
                "POST",
                "/v2/runs",
                json={"name": "r", "process_id": process_id, "agent_id": env.agent_id, "stage": "Published"},
            ).status_code
            == 201
        )
    query = {"process_id": process_id, "agent_id": env.agent_id, "limit": 2}
    page = env.call("GET", "/v2/runs", params=query).json()
    assert len(page["items"]) == 2 and page["continuation_token"]


# --- uploads ---------------------------------------------------------------------------------------


def test_an_upload_over_the_bound_is_refused_with_413_and_nothing_is_stored(env: Env) -> None:
    target = env.target()
    body = assert_error(env.upload(target, b"x" * (MAX_UPLOAD + 1)), 413)
    assert str(MAX_UPLOAD) in body["message"]
    assert env.blobs() == []
    shown = env.call("GET", f"/v2/files/{target['file_id']}").json()
    assert shown["uploaded"] is False and shown["size"] is None
    assert_error(env.call("GET", f"/v2/files/{target['file_id']}/content"), 404)
    # Far over the bound (the multipart body itself): refused by length before it is read.
    assert_error(env.upload(target, b"x" * (MAX_UPLOAD * 4)), 413)
    assert env.blobs() == []
    # The same target still takes a file within the bound.
    assert env.upload(target, b"x" * MAX_UPLOAD).status_code == 204
    assert [p.name for p in env.blobs()] == [target["file_id"]]


# --- file names ------------------------------------------------------------------------------------

NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/shadow",
    "a\x00b.txt",
    "con\r\nx-injected: 1",
    'quote".txt',
    "..",
    ".hidden",
    "\u202etxt.exe",
    "é" * 200,
    "n" * 255,
]


@pytest.mark.parametrize("name", NAMES)
def test_file_names_are_sanitised_never_a_path_and_safe_to_download(env: Env, name: str) -> None:
    target = env.target(name)
    stored = target["name"]
    assert stored and len(stored) <= 255
    assert not any(ch in stored for ch in '/\\\x00\r\n"') and not stored.startswith(".")
    assert env.upload(target, b"content", filename=name).status_code == 204
    (blob,) = env.blobs()
    assert blob.name == target["file_id"] and blob.parent.parent == env.data_dir / "files"
    assert not (env.data_dir.parent / "etc").exists()
    r = env.call("GET", f"/v2/files/{target['file_id']}/content")
    assert r.status_code == 200 and r.content == b"content"
    disposition = r.headers["content-disposition"]
    assert disposition.isascii() and disposition.startswith("attachment; filename*=UTF-8''")
    assert "x-injected" not in r.headers and r.headers["x-content-type-options"] == "nosniff"
    message = email.message.EmailMessage(policy=email.policy.HTTP)
    message["content-disposition"] = disposition
    assert message.get_filename() == stored


def test_a_file_name_over_256_characters_is_a_400(env: Env) -> None:
    assert_error(env.call("POST", "/v2/files", json={"agent_id": env.agent_id, "name": "n" * 257}), 400)
    made = env.call("POST", "/v2/files", json={"agent_id": env.agent_id, "file_name": "n" * 256})
    assert made.status_code == 201 and made.json()["file_name"] == "n" * 256


def test_an_e_mail_attachment_named_like_a_path_is_stored_under_a_clean_name(env: Env) -> None:
    process = env.services.processes.create(SYSTEM, agent_id=env.agent_id, source='to take mail\n  say "x"\n')
    address = env.services.mail.settings(SYSTEM, process.id).addresses[0].address
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ap@acme.example", address, "evil"
    msg["Message-ID"] = "<evil-1@acme.example>"
    msg.set_content("see attached")
    msg.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="../../etc/cron.d/x")
    (run_id,) = env.services.mail.receive(msg.as_bytes(), "ap@acme.example", [address])
    run = env.services.store.runs.get(run_id)
    assert run is not None
    files = env.services.store.files.get_many(run.file_ids)
    (record,) = files.values()
    assert "/" not in record.name and not record.name.startswith(".") and record.name.endswith("x")
    (blob,) = env.blobs()
    assert blob.name == record.id


QUERY_ROUTES = [
    ("/v2/runs", ("process_id", "agent_id")),
    ("/v2/processes", ("agent_id", "after")),
    ("/v2/learnings", ("process_id", "agent_id")),
    ("/v2/test-cases", ("process_id", "agent_id")),
    ("/v2/test-runs", ("agent_id",)),
    ("/v2/schedules", ("agent_id", "process_id")),
]


def test_ids_in_queries_with_nul_or_odd_characters_are_refused_never_a_500(db_env: Env) -> None:
    process_id = db_env.process()
    good = {"process_id": process_id, "agent_id": db_env.agent_id}
    problems = []
    for path, names in QUERY_ROUTES:
        for name in names:
            for bad in ("a\x00b", "\u00e9\u00e9", "%", "'; drop table runs; --"):
                r = db_env.call("GET", path, params={**{n: good.get(n, "x") for n in names}, name: bad})
                lookup = not (name == "after" and bad != "a\x00b")  # after: a position, not a lookup
                if r.status_code not in ((400, 404) if lookup else (200,)):
                    problems.append(f"{path} {name}={bad!r}: {r.status_code} {r.text}")
                elif r.status_code != 200:
                    assert_error(r, r.status_code)
    assert problems == []
