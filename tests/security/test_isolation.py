"""Cross-agent isolation over every route: a key scoped to agent A sees nothing of agent B.

Every API route that takes an id (in its path, its query or its body) has a row in ``CASES``; a route
added later without one fails ``test_every_route_that_takes_an_id_has_a_case``. Each case is called
with A's key and B's ids and must answer exactly as it answers for ids that do not exist at all (a
404 ErrorModel; for the bulk routes, which report per id, ``not_found``), and B's resources must be
unchanged afterwards: no cancel, answer, archive, publish, edit, rotation or deletion took place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from plainrun.domain import ids as plainrun_ids
from tests.security.conftest import World


@dataclass(frozen=True)
class Case:
    """A request; ``{name}`` anywhere in path, params or body is the id of that name in the world."""

    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    #: "404": an ErrorModel 404; "per_id": 200 with every id reported not_found; "same": only the
    #: same answer as for unknown ids (the upload route, which a signed token alone authorises).
    expect: str = "404"
    path: str | None = None


def c(**kw: Any) -> list[Case]:
    return [Case(**kw)]


RUNS = ("run_done", "run_waiting", "run_answered")
B_RUN = {"process_id": "{process_b}", "agent_id": "{agent_b}", "name": "x", "stage": "Published"}

CASES: dict[tuple[str, str], list[Case]] = {
    ("GET", "/v2/runs"): [
        Case({"process_id": "{process_b}", "agent_id": "{agent_b}"}),
        Case({"process_id": "{process_b}", "agent_id": "{agent_a}"}),
        Case({"process_id": "{process_b}", "agent_id": "{agent_b}", "archived": "true"}),
    ],
    ("POST", "/v2/runs"): [
        Case(body=B_RUN),
        Case(body={**B_RUN, "agent_id": "{agent_a}"}),
        Case(body={**B_RUN, "process_id": "{process_a}", "agent_id": "{agent_a}", "file_ids": ["{file_b}"]}),
    ],
    ("GET", "/v2/runs/{run_id}"): [Case(path=f"/v2/runs/{{{r}}}") for r in RUNS],
    ("POST", "/v2/runs/{run_id}/cancel"): [Case(path=f"/v2/runs/{{{r}}}/cancel") for r in RUNS],
    ("GET", "/v2/runs/{run_id}/events"): [Case(path=f"/v2/runs/{{{r}}}/events") for r in RUNS],
    ("GET", "/v2/runs/{run_id}/children"): [Case(path=f"/v2/runs/{{{r}}}/children") for r in RUNS],
    ("POST", "/v2/runs/{run_id}/guidance"): [
        Case(path="/v2/runs/{run_waiting}/guidance", body={"action": "value", "value": "yes"}),
        Case(path="/v2/runs/{run_waiting}/guidance", body={"action": "stop"}),
    ],
    ("POST", "/v2/runs/archive"): c(body={"run_ids": ["{run_done}", "{run_waiting}"]}, expect="per_id"),
    ("POST", "/v2/runs/unarchive"): c(body={"run_ids": ["{run_done}"]}, expect="per_id"),
    ("POST", "/v2/runs/rerun"): c(body={"run_ids": ["{run_done}", "{run_answered}"]}, expect="per_id"),
    ("GET", "/v2/learnings"): [
        Case({"process_id": "{approve_b}"}),
        Case({"process_id": "{approve_b}", "agent_id": "{agent_a}"}),
    ],
    ("DELETE", "/v2/learnings/{learning_id}"): c(path="/v2/learnings/{learning_b}"),
    ("POST", "/v2/test-cases"): c(body={"run_ids": ["{run_done}"]}, expect="per_id"),
    ("GET", "/v2/test-cases"): [
        Case({"process_id": "{process_b}", "agent_id": "{agent_b}"}),
        Case({"process_id": "{process_b}", "agent_id": "{agent_a}"}),
    ],
    ("DELETE", "/v2/test-cases/{test_case_id}"): c(path="/v2/test-cases/{test_case_b}"),
    ("PUT", "/v2/test-cases/{test_case_id}/outputs"): c(
        path="/v2/test-cases/{test_case_b}/outputs", body={"outputs": ["x"]}
    ),
    ("POST", "/v2/test-cases/{test_case_id}/accept"): c(
        path="/v2/test-cases/{test_case_b}/accept", body={"test_run_id": "{test_case_b}", "output": "x"}
    ),
    ("POST", "/v2/test-runs"): [
        Case(body={"agent_id": "{agent_b}", "process_ids": ["{process_b}"]}),
        Case(body={"agent_id": "{agent_a}", "process_ids": ["{process_b}"]}),
        Case(body={"agent_id": "{agent_a}", "process_ids": ["{process_a}", "{process_b}"]}),
    ],
    ("GET", "/v2/test-runs"): c(params={"agent_id": "{agent_b}"}),
    ("GET", "/v2/test-runs/{test_run_id}"): c(path="/v2/test-runs/{test_run_b}"),
    ("POST", "/v2/test-runs/{test_run_id}/stop"): c(path="/v2/test-runs/{test_run_b}/stop"),
    ("GET", "/v2/processes"): c(params={"agent_id": "{agent_b}"}),
    ("POST", "/v2/processes"): c(body={"agent_id": "{agent_b}", "source": "to go\n  say 1\n"}),
    ("GET", "/v2/processes/{process_id}"): [
        Case(path="/v2/processes/{process_b}"),
        Case(path="/v2/processes/{process_b}", params={"agent_id": "{agent_a}"}),
        Case(path="/v2/processes/{approve_b}"),
    ],
    ("PATCH", "/v2/processes/{process_id}"): c(
        path="/v2/processes/{process_b}", body={"source": "to go\n  say 1\n", "name": "taken over"}
    ),
    ("POST", "/v2/processes/{process_id}/publish"): c(path="/v2/processes/{process_b}/publish"),
    ("GET", "/v2/processes/{process_id}/versions"): c(path="/v2/processes/{process_b}/versions"),
    ("GET", "/v2/processes/{process_id}/versions/{version}"): c(path="/v2/processes/{process_b}/versions/1"),
    ("GET", "/v2/processes/{process_id}/email"): c(path="/v2/processes/{process_b}/email"),
    ("POST", "/v2/processes/{process_id}/email/rotate"): [
        Case(path="/v2/processes/{process_b}/email/rotate", params={"stage": s})
        for s in ("Draft", "Published")
    ],
    ("PUT", "/v2/processes/{process_id}/email/permissions"): c(
        path="/v2/processes/{process_b}/email/permissions", body={"mode": "anyone"}
    ),
    ("GET", "/v2/agents/{agent_id}/email/members"): c(path="/v2/agents/{agent_b}/email/members"),
    ("PUT", "/v2/agents/{agent_id}/email/members"): c(
        path="/v2/agents/{agent_b}/email/members", body={"senders": ["mallory@a.example"]}
    ),
    ("POST", "/v2/schedules"): [
        Case(body={"agent_id": a, "process_id": "{process_b}", "name": "s", "kind": "hourly"})
        for a in ("{agent_b}", "{agent_a}")
    ],
    ("GET", "/v2/schedules"): [
        Case({"agent_id": "{agent_b}"}),
        Case({"agent_id": "{agent_a}", "process_id": "{process_b}"}),
    ],
    ("GET", "/v2/schedules/{schedule_id}"): c(path="/v2/schedules/{schedule_b}"),
    ("PATCH", "/v2/schedules/{schedule_id}"): c(path="/v2/schedules/{schedule_b}", body={"enabled": True}),
    ("DELETE", "/v2/schedules/{schedule_id}"): c(path="/v2/schedules/{schedule_b}"),
    ("POST", "/v2/webhooks"): [
        Case(body={"agent_id": "{agent_b}", "url": "https://93.184.215.14/a-hook"}),
        Case(
            body={"agent_id": "{agent_a}", "url": "https://93.184.215.14/a-hook", "process_id": "{process_b}"}
        ),
    ],
    ("GET", "/v2/webhooks"): [
        Case({"agent_id": "{agent_b}"}),
        Case({"agent_id": "{agent_a}", "process_id": "{process_b}"}),
    ],
    ("GET", "/v2/webhooks/{webhook_id}"): c(path="/v2/webhooks/{webhook_b}"),
    ("DELETE", "/v2/webhooks/{webhook_id}"): c(path="/v2/webhooks/{webhook_b}"),
    ("GET", "/v2/webhooks/{webhook_id}/deliveries"): c(path="/v2/webhooks/{webhook_b}/deliveries"),
    ("POST", "/v2/files"): c(body={"agent_id": "{agent_b}", "name": "x.txt"}),
    ("POST", "/v2/files/{file_id}/upload"): c(path="/v2/files/{file_b}/upload", expect="same"),
    ("PUT", "/v2/files/{file_id}/upload"): c(path="/v2/files/{file_b}/upload", expect="same"),
    ("GET", "/v2/files/{file_id}"): c(path="/v2/files/{file_b}"),
    ("GET", "/v2/files/{file_id}/content"): c(path="/v2/files/{file_b}/content"),
}

#: The word that marks an id in a query parameter or a body field.
_ID_NAME = re.compile(r"(^|_)ids?$|^after$")


def api_routes(world: World) -> dict[str, APIRoute]:
    """``"METHOD /v2/path"`` to its route, for every API route of the app."""
    routes = {}
    for context in iter_route_contexts(world.client.app.routes):  # type: ignore[attr-defined]
        route = context.route
        if isinstance(route, APIRoute) and context.path.startswith("/v2/"):
            routes.update({f"{method} {context.path}": route for method in route.methods})
    return routes


def takes_an_id(route: APIRoute) -> bool:
    dependant = route.dependant
    if dependant.path_params or any(_ID_NAME.search(p.name) for p in dependant.query_params):
        return True
    for param in dependant.body_params:
        model = param.field_info.annotation
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        if is_model and any(_ID_NAME.search(name) for name in model.model_fields):
            return True
    return False


def test_every_route_that_takes_an_id_has_a_case(world: World) -> None:
    routes = api_routes(world)
    assert len(routes) > 30
    missing = [
        key for key, route in routes.items() if takes_an_id(route) and tuple(key.split(" ", 1)) not in CASES
    ]
    assert missing == [], f"routes without an isolation case in tests/security/test_isolation.py: {missing}"


def fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], value)
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


def request(world: World, method: str, template: str, case: Case, names: dict[str, str]) -> Any:
    path = fill(case.path or template, names)
    kw: dict[str, Any] = {"params": fill(case.params, names)}
    if case.body is not None:
        kw["json"] = fill(case.body, names)
    if template.endswith("/upload"):
        # A well-formed upload carrying agent A's own (valid) token for another file.
        target = world.ok(
            "POST", "/v2/files", world.a_key, 201, json={"agent_id": names["agent_a"], "name": "a.txt"}
        )
        fields = {**target["upload_fields"], "key": path.split("/")[-2]}
        kw = {"data": fields, "files": {"file": ("x.txt", b"overwritten by A", "text/plain")}}
        if method == "PUT":  # the presigned PUT: the token in the URL, the bytes as the body
            kw = {"params": {"token": fields["token"]}, "content": b"overwritten by A"}
    return world.call(method, path, world.a_key, **kw)


def snapshot(world: World) -> dict[str, Any]:
    """Everything of agent B, read with the installation's key."""
    ids, get = world.ids, (lambda path, **params: world.ok("GET", path, params=params))
    b = ids["agent_b"]
    out: dict[str, Any] = {}
    for name in RUNS:
        run = get(f"/v2/runs/{ids[name]}")
        out[name] = run
        out[f"{name}.events"] = len(get(f"/v2/runs/{ids[name]}/events")["items"])
    for name in ("process_b", "approve_b", "hold_b"):
        out[name] = get(f"/v2/processes/{ids[name]}")
        out[f"{name}.versions"] = get(f"/v2/processes/{ids[name]}/versions")
        for archived in ("false", "true"):
            listed = get("/v2/runs", process_id=ids[name], agent_id=b, archived=archived, limit=100)
            out[f"{name}.runs.{archived}"] = [r["id"] for r in listed["items"]]
    out["processes"] = [p["id"] for p in get("/v2/processes", agent_id=b)["items"]]
    out["email"] = get(f"/v2/processes/{ids['process_b']}/email")
    out["members"] = get(f"/v2/agents/{b}/email/members")
    out["schedules"] = [
        {k: v for k, v in s.items() if k != "next_fire_times"}
        for s in get("/v2/schedules", agent_id=b)["items"]
    ]
    out["webhooks"] = get("/v2/webhooks", agent_id=b)["items"]
    out["file"] = get(f"/v2/files/{ids['file_b']}")
    out["file.content"] = world.call("GET", f"/v2/files/{ids['file_b']}/content").content
    out["test_cases"] = get("/v2/test-cases", process_id=ids["process_b"], agent_id=b)
    out["test_runs"] = get("/v2/test-runs", agent_id=b)
    out["test_run"] = get(f"/v2/test-runs/{ids['test_run_b']}")
    out["learnings"] = get("/v2/learnings", process_id=ids["approve_b"])
    out["agents"] = get("/v2/agents")
    return out


def cases() -> list[Any]:
    return [
        pytest.param(method, path, i, case, id=f"{method} {path} #{i}")
        for (method, path), listed in CASES.items()
        for i, case in enumerate(listed)
    ]


def comparable(body: Any, names: dict[str, str]) -> Any:
    """A body with the ids that were sent replaced by their names, to compare two answers."""
    text = json.dumps(body, sort_keys=True)
    for name, value in names.items():
        text = text.replace(value, f"<{name}>")
    return json.loads(text)


@pytest.fixture(scope="module")
def before(world: World) -> dict[str, Any]:
    """B's resources as the world was built; every case must leave them exactly so."""
    return snapshot(world)


@pytest.mark.parametrize(("method", "path", "index", "case"), cases())
def test_a_key_of_agent_a_finds_nothing_of_agent_b(
    world: World, before: dict[str, Any], method: str, path: str, index: int, case: Case
) -> None:
    if f"{method} {path}" not in api_routes(world):
        pytest.skip(f"{method} {path} is not a route of this build")
    answer = request(world, method, path, case, world.ids)
    # The same request with B's ids replaced by ids that exist nowhere answers the same way.
    unknown = {k: (v if k.endswith("_a") else plainrun_ids.new_id()) for k, v in world.ids.items()}
    baseline = request(world, method, path, case, unknown)
    assert answer.status_code == baseline.status_code, (answer.text, baseline.text)
    assert comparable(answer.json(), world.ids) == comparable(baseline.json(), unknown)
    if case.expect == "404":
        assert answer.status_code == 404, answer.text
        body = answer.json()
        assert set(body) == {"status_code", "message", "details"} and body["status_code"] == 404
        assert isinstance(body["message"], str) and body["message"]
    elif case.expect == "per_id":
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert results and all(r["result"] == "not_found" for r in results), results
    else:
        assert answer.status_code in (400, 404), answer.text
    assert snapshot(world) == before


def test_agent_a_lists_and_creates_no_agents_of_its_own(world: World) -> None:
    listed = world.ok("GET", "/v2/agents", world.a_key)["items"]
    assert [a["id"] for a in listed] == [world.ids["agent_a"]]
    r = world.call("POST", "/v2/agents", world.a_key, json={"name": "mine"})
    assert r.status_code == 404 and r.json()["status_code"] == 404
    assert len(world.ok("GET", "/v2/agents")["items"]) == 2


def test_agent_b_itself_sees_its_own_resources(world: World) -> None:
    """The other side of every 404 above: B's own key reaches the same resources."""
    ids = world.ids
    for path in (
        f"/v2/runs/{ids['run_waiting']}",
        f"/v2/processes/{ids['process_b']}",
        f"/v2/files/{ids['file_b']}",
        f"/v2/schedules/{ids['schedule_b']}",
        f"/v2/webhooks/{ids['webhook_b']}",
        f"/v2/test-runs/{ids['test_run_b']}",
        f"/v2/agents/{ids['agent_b']}/email/members",
    ):
        world.ok("GET", path, world.b_key)
    learnings = world.ok("GET", "/v2/learnings", world.b_key, params={"process_id": ids["approve_b"]})
    assert [item["id"] for item in learnings["items"]] == [ids["learning_b"]]
    assert world.run_state(ids["run_waiting"]) == "AwaitingGuidance"
