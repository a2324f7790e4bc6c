"""The REST API over HTTP semantics (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient

from plainrun.http import create_app
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

SPEC = json.loads((Path(__file__).parents[1] / "spec" / "runs-v2.openapi.json").read_text())
GREET = 'to greet a customer\n  the output greeting is "Hello, {the customer name}!"\n'


def spec_validator(name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


RUN_RESOURCE = spec_validator("RunResource")
LIST_RESPONSE = spec_validator("ListResponse")
ERROR_MODEL = spec_validator("ErrorModel")


@dataclass
class Api:
    client: TestClient
    services: Services
    agent_id: str
    key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"x-api-key": key or self.key}

    def get(self, url: str, **kw: object) -> object:
        return self.client.get(url, headers=self.headers(), **kw)  # type: ignore[arg-type]

    def post(self, url: str, **kw: object) -> object:
        return self.client.post(url, headers=self.headers(), **kw)  # type: ignore[arg-type]

    def process(self, source: str = GREET, publish: bool = True) -> str:
        r = self.client.post(
            "/v2/processes", headers=self.headers(), json={"agent_id": self.agent_id, "source": source}
        )
        assert r.status_code == 201, r.text
        if publish:
            assert (
                self.client.post(
                    f"/v2/processes/{r.json()['id']}/publish", headers=self.headers()
                ).status_code
                == 201
            )
        return r.json()["id"]  # type: ignore[no-any-return]

    def start(self, process: str, **body: object) -> object:
        payload = {
            "name": "a run",
            "process_id": process,
            "agent_id": self.agent_id,
            "stage": "Published",
            **body,
        }
        return self.client.post("/v2/runs", headers=self.headers(), json=payload)


def assert_error(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    ERROR_MODEL.validate(body)
    assert body["status_code"] == status
    assert "Traceback" not in response.text  # type: ignore[attr-defined]
    return body  # type: ignore[no-any-return]


@contextlib.contextmanager
def serving(database_url: str, data_dir: Path, fast: bool) -> Iterator[tuple[TestClient, Services]]:
    settings = Settings(
        database_url=database_url, data_dir=data_dir, key_cache_s=0, max_upload_bytes=64 * 1024, fast=fast
    )
    services = build_services(settings, migrate=True)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        yield client, services
    services.close()


def agent_api(client: TestClient, services: Services) -> Api:
    """The API as a new agent's key sees it."""
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    return Api(client=client, services=services, agent_id=agent.id, key=key)


@pytest.fixture(params=[True, False], ids=["fast", "general"])
def api(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The API, with its speed devices (``fast``) and without them (``general``)."""
    with serving(database_url, tmp_path, request.param) as (client, services):
        yield agent_api(client, services)


@pytest.fixture(scope="module", params=[True, False], ids=["fast", "general"])
def module_api(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, Services]]:
    """One API for the module's tests of refused requests."""
    with serving(module_database_url, tmp_path_factory.mktemp("api"), request.param) as served:
        yield served


@pytest.fixture
def refusing_api(module_api: tuple[TestClient, Services]) -> Api:
    """The module's API as an agent of the test's own sees it: its refusals change nothing, and
    nothing another test made is visible to it."""
    return agent_api(*module_api)


def test_start_get_and_list_runs_as_the_spec_describes(api: Api) -> None:
    process_id = api.process()
    created = api.start(process_id, inputs=[{"name": "customer name", "value": "Ada"}])
    assert created.status_code == 201  # type: ignore[attr-defined]
    run = created.json()  # type: ignore[attr-defined]
    RUN_RESOURCE.validate(run)
    assert run["status"] == "Created" and run["state"] == "Pending" and run["version"] == 1
    assert run["created_at"].endswith("Z") and len(run["id"]) == 25
    fetched = api.get(f"/v2/runs/{run['id']}").json()  # type: ignore[attr-defined]
    RUN_RESOURCE.validate(fetched)
    assert fetched["inputs"] == [{"name": "customer name", "value": "Ada"}]
    # The object form of inputs is accepted too.
    other = api.start(process_id, inputs={"customer name": "Grace", "count": 3}).json()  # type: ignore[attr-defined]
    assert other["inputs"] == [{"name": "customer name", "value": "Grace"}, {"name": "count", "value": 3}]
    listed = api.get("/v2/runs", params={"process_id": process_id, "agent_id": api.agent_id}).json()  # type: ignore[attr-defined]
    LIST_RESPONSE.validate(listed)
    assert [r["id"] for r in listed["items"]] == [other["id"], run["id"]]
    assert listed["continuation_token"] is None


def test_pages_follow_the_continuation_token_and_refuse_forged_ones(api: Api) -> None:
    process_id = api.process()
    made = [api.start(process_id).json()["id"] for _ in range(7)]  # type: ignore[attr-defined]
    query = {"process_id": process_id, "agent_id": api.agent_id, "limit": 3}
    seen, token = [], None
    while True:
        page = api.get(
            "/v2/runs", params={**query, **({"continuation_token": token} if token else {})}
        ).json()  # type: ignore[attr-defined]
        seen += [r["id"] for r in page["items"]]
        token = page["continuation_token"]
        if token is None:
            break
    assert seen == list(reversed(made))
    first = api.get("/v2/runs", params=query).json()["continuation_token"]  # type: ignore[attr-defined]
    forged = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
    assert_error(api.get("/v2/runs", params={**query, "continuation_token": forged}), 400)
    assert_error(api.get("/v2/runs", params={**query, "continuation_token": "not-a-token"}), 400)
    assert_error(api.get("/v2/runs", params={**query, "continuation_token": first.split(".")[0] + ".é"}), 400)
    # A real token replayed against another query (another stage filter) is refused too.
    assert_error(api.get("/v2/runs", params={**query, "stage": "Draft", "continuation_token": first}), 400)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 400),
        ({"limit": 101}, 400),
        ({"limit": "ten"}, 400),
        ({"stage": "Staging"}, 400),
        ({"process_id": "0" * 25}, 404),
        ({"agent_id": "0" * 25}, 404),
    ],
)
def test_list_runs_rejects_bad_queries(refusing_api: Api, params: dict[str, object], status: int) -> None:
    api = refusing_api
    process_id = api.process()
    assert_error(
        api.get("/v2/runs", params={"process_id": process_id, "agent_id": api.agent_id, **params}), status
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x" * 101}, 400),
        ({"name": ""}, 400),
        ({"stage": "Staging"}, 400),
        ({"process_id": "bad id!"}, 400),
        ({"agent_id": "a" * 27}, 400),
        ({"inputs": [{"name": "x"}]}, 400),
        ({"inputs": [{"value": 1}]}, 400),
        ({"inputs": ["x=1"]}, 400),
        ({"inputs": [{"name": "x", "value": True}]}, 400),
        ({"inputs": [{"name": "x", "value": [1]}]}, 400),
        ({"inputs": [{"name": "x", "value": 1}, {"name": "X", "value": 2}]}, 400),
        ({"file_ids": ["0" * 25]}, 404),
        ({"file_ids": "abc"}, 400),
        ({"process_id": "0" * 25}, 404),
        ({"stage": "Draft", "name": 5}, 400),
    ],
)
def test_create_run_rejects_bad_bodies(refusing_api: Api, body: dict[str, object], status: int) -> None:
    api = refusing_api
    process_id = api.process()
    err = assert_error(api.start(process_id, **body), status)
    if status == 400 and err["details"]:
        assert all({"name", "value"} <= set(d) for d in err["details"])  # type: ignore[union-attr]


def test_published_stage_needs_a_published_version_and_drafts_must_parse(api: Api) -> None:
    process_id = api.process(publish=False)
    assert "no published version" in assert_error(api.start(process_id), 400)["message"]  # type: ignore[operator]
    assert api.start(process_id, stage="Draft").status_code == 201  # type: ignore[attr-defined]
    broken = api.client.patch(
        f"/v2/processes/{process_id}", headers=api.headers(), json={"source": "this is not a process\n"}
    )
    err = assert_error(broken, 400)
    assert any("line 1" in d["name"] for d in err["details"])  # type: ignore[union-attr]


def test_authentication_and_errors_are_error_models(api: Api) -> None:
    process_id = api.process()
    assert_error(api.client.get(f"/v2/runs?process_id={process_id}&agent_id={api.agent_id}"), 401)
    assert_error(api.client.get("/v2/runs/x", headers={"x-api-key": "prk_wrong"}), 401)
    assert_error(api.get("/v2/runs/" + "0" * 25), 404)
    assert_error(api.get("/v2/runs/bad$id"), 404)
    assert_error(api.get("/v2/no/such/route"), 404)
    assert_error(
        api.client.post(
            "/v2/runs", headers={**api.headers(), "content-type": "application/json"}, content=b"{"
        ),
        400,
    )
    big = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert_error(
        api.client.post(
            "/v2/runs", headers={**api.headers(), "content-type": "application/json"}, content=big
        ),
        413,
    )
    assert api.client.get("/v2/health").json()["status"] == "ok"
    key_id = api.services.keys.authenticate(api.key).key_id
    api.services.keys.revoke(key_id)
    assert_error(api.get("/v2/runs/" + "0" * 25), 401)


def test_a_key_scoped_to_one_agent_sees_nothing_of_another(api: Api) -> None:
    process_id = api.process()
    run_id = api.start(process_id).json()["id"]  # type: ignore[attr-defined]
    other_agent = api.services.store.agents.create("other")
    _, other_key = api.services.keys.create(agent_id=other_agent.id)
    h = {"x-api-key": other_key}
    assert_error(api.client.get(f"/v2/runs/{run_id}", headers=h), 404)
    assert_error(
        api.client.get("/v2/runs", headers=h, params={"process_id": process_id, "agent_id": api.agent_id}),
        404,
    )
    assert_error(api.client.get(f"/v2/processes/{process_id}", headers=h), 404)
    assert_error(api.client.get("/v2/processes", headers=h, params={"agent_id": api.agent_id}), 404)
    assert_error(api.client.post(f"/v2/processes/{process_id}/publish", headers=h), 404)
    assert_error(api.client.post(f"/v2/runs/{run_id}/cancel", headers=h), 404)
    body = {"name": "x", "process_id": process_id, "agent_id": api.agent_id, "stage": "Published"}
    assert_error(api.client.post("/v2/runs", headers=h, json=body), 404)
    archived = api.client.post("/v2/runs/archive", headers=h, json={"run_ids": [run_id]}).json()
    assert archived["results"] == [{"run_id": run_id, "result": "not_found"}]
    # Its own agent's file cannot be used in another agent's run.
    file_id = api.client.post(
        "/v2/files", headers=h, json={"agent_id": other_agent.id, "name": "a.txt"}
    ).json()["id"]
    assert_error(api.start(process_id, file_ids=[file_id]), 404)


def test_files_upload_like_a_presigned_post_and_feed_runs(api: Api) -> None:
    """The multipart POST of the upload fields (the PUT of Kognitos's clients: test_fidelity.py)."""
    target = api.post(
        "/v2/files",
        json={"agent_id": api.agent_id, "name": "../../etc/passwd\x00.csv", "content_type": "text/csv"},
    ).json()  # type: ignore[attr-defined]
    assert (
        target["upload_http_method"] == "PUT"
        and f"/v2/files/{target['id']}/upload?token=" in (target["upload_url"])
    )
    assert "/" not in target["name"] and "\x00" not in target["name"]
    path = target["upload_url"].split("://", 1)[1].split("/", 1)[1]
    # Not uploaded yet: a run cannot use it.
    process_id = api.process()
    assert_error(api.start(process_id, file_ids=[target["id"]]), 404)
    bad = dict(target["upload_fields"], token=target["upload_fields"]["token"][:-1] + "x")
    assert_error(api.client.post("/" + path, data=bad, files={"file": ("a.csv", b"a,b\n1,2\n")}), 400)
    too_big = api.client.post(
        "/" + path, data=target["upload_fields"], files={"file": ("a.csv", b"x" * 70_000)}
    )
    assert_error(too_big, 413)
    ok = api.client.post("/" + path, data=target["upload_fields"], files={"file": ("a.csv", b"a,b\n1,2\n")})
    assert ok.status_code == 204, ok.text
    assert_error(
        api.client.post("/" + path, data=target["upload_fields"], files={"file": ("a.csv", b"again")}), 409
    )
    meta = api.get(f"/v2/files/{target['id']}").json()  # type: ignore[attr-defined]
    assert meta["size"] == 8 and meta["uploaded"] is True
    assert api.get(f"/v2/files/{target['id']}/content").content == b"a,b\n1,2\n"  # type: ignore[attr-defined]
    run = api.start(process_id, file_ids=[target["id"]]).json()  # type: ignore[attr-defined]
    assert run["file_ids"] == [target["id"]]


def test_archive_and_unarchive_report_per_id_and_filter_the_list(api: Api) -> None:
    process_id = api.process()
    a, b = (api.start(process_id).json()["id"] for _ in range(2))  # type: ignore[attr-defined]
    missing = "0" * 25
    result = api.post("/v2/runs/archive", json={"run_ids": [a, missing]}).json()  # type: ignore[attr-defined]
    assert result["results"] == [
        {"run_id": a, "result": "archived"},
        {"run_id": missing, "result": "not_found"},
    ]
    query = {"process_id": process_id, "agent_id": api.agent_id}
    assert [r["id"] for r in api.get("/v2/runs", params=query).json()["items"]] == [b]  # type: ignore[attr-defined]
    assert [r["id"] for r in api.get("/v2/runs", params={**query, "archived": True}).json()["items"]] == [a]  # type: ignore[attr-defined]
    api.post("/v2/runs/unarchive", json={"run_ids": [a]})
    assert len(api.get("/v2/runs", params=query).json()["items"]) == 2  # type: ignore[attr-defined]


def test_processes_keep_one_id_across_draft_and_published_versions(api: Api) -> None:
    process_id = api.process()
    edited = api.client.patch(
        f"/v2/processes/{process_id}", headers=api.headers(), json={"source": GREET.replace("Hello", "Hi")}
    ).json()
    assert edited["draft_revision"] == 2 and edited["published_version"] == 1
    assert edited["inputs"] == ["customer name"]
    api.post(f"/v2/processes/{process_id}/publish")
    versions = api.get(f"/v2/processes/{process_id}/versions").json()["items"]  # type: ignore[attr-defined]
    assert [v["version"] for v in versions] == [2, 1]
    v1 = api.get(f"/v2/processes/{process_id}/versions/1").json()  # type: ignore[attr-defined]
    assert "Hello" in v1["source"]
    run = api.start(process_id).json()  # type: ignore[attr-defined]
    assert run["version"] == 2
    listed = api.get("/v2/processes", params={"agent_id": api.agent_id}).json()  # type: ignore[attr-defined]
    assert [p["id"] for p in listed["items"]] == [process_id]
