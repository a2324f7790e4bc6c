"""/v2/webhooks over HTTP on SQLite and PostgreSQL: subscriptions, their pages, refused targets,
deliveries; every error an ErrorModel."""

from __future__ import annotations

import pytest

from plainrun.http.api.webhooks import CreatedWebhook, DeliveryList, WebhookList, WebhookResource
from tests.integration.test_api import Api, api, assert_error  # noqa: F401 - the api fixture

PUBLIC = "https://93.184.215.14/hook"  # a public address written as one: no name to resolve


def test_subscriptions_are_made_paged_read_and_deleted(api: Api) -> None:  # noqa: F811
    process_id = api.process()
    made = api.post("/v2/webhooks", json={"agent_id": api.agent_id, "url": PUBLIC})
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    created = CreatedWebhook.model_validate(made.json())  # type: ignore[attr-defined]
    assert created.secret.startswith("whsec_") and created.process_id is None
    assert created.events == [
        "run.succeeded",
        "run.failed",
        "run.waiting_for_guidance",
        "run.cancelled",
        "run.timed_out",
    ]
    scoped = api.post(
        "/v2/webhooks",
        json={"agent_id": api.agent_id, "url": PUBLIC, "process_id": process_id, "events": ["run.failed"]},
    ).json()  # type: ignore[attr-defined]
    assert scoped["events"] == ["run.failed"] and scoped["process_id"] == process_id

    first = api.get("/v2/webhooks", params={"agent_id": api.agent_id, "limit": 1}).json()  # type: ignore[attr-defined]
    WebhookList.model_validate(first)
    assert [w["id"] for w in first["items"]] == [scoped["id"]] and first["continuation_token"]
    params = {"agent_id": api.agent_id, "limit": 1, "continuation_token": first["continuation_token"]}
    second = api.get("/v2/webhooks", params=params).json()  # type: ignore[attr-defined]
    assert [w["id"] for w in second["items"]] == [created.id] and second["continuation_token"] is None
    moved = {**params, "process_id": process_id}
    assert_error(api.get("/v2/webhooks", params=moved), 400)  # a token of another query

    one = api.get(f"/v2/webhooks/{created.id}").json()  # type: ignore[attr-defined]
    assert "secret" not in WebhookResource.model_validate(one).model_dump()
    api.client.post(f"/v2/runs/{api.start(process_id).json()['id']}/cancel", headers=api.headers())  # type: ignore[attr-defined]
    listed = api.get(f"/v2/webhooks/{created.id}/deliveries").json()  # type: ignore[attr-defined]
    deliveries = DeliveryList.model_validate(listed).items
    assert [(d.event, d.state, d.attempt_count, d.attempts) for d in deliveries] == [
        ("run.cancelled", "pending", 0, [])
    ]
    assert (
        deliveries[0].payload["type"] == "run.cancelled"
        and deliveries[0].message_id == f"msg_{deliveries[0].id}"
    )
    assert api.get(f"/v2/webhooks/{scoped['id']}/deliveries").json()["items"] == []  # type: ignore[attr-defined]

    assert api.client.delete(f"/v2/webhooks/{created.id}", headers=api.headers()).status_code == 204
    assert_error(api.get(f"/v2/webhooks/{created.id}"), 404)
    assert_error(api.get(f"/v2/webhooks/{created.id}/deliveries"), 404)
    assert_error(api.client.delete(f"/v2/webhooks/{created.id}", headers=api.headers()), 404)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://2130706433/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "ftp://93.184.215.14/hook",
        "not a url",
    ],
)
def test_targets_the_outbound_rules_refuse_are_400(api: Api, url: str) -> None:  # noqa: F811
    body = assert_error(api.post("/v2/webhooks", json={"agent_id": api.agent_id, "url": url}), 400)
    assert "refused" in str(body["message"])
    assert api.get("/v2/webhooks", params={"agent_id": api.agent_id}).json()["items"] == []  # type: ignore[attr-defined]


def test_bad_input_and_other_agents_are_errormodels(api: Api) -> None:  # noqa: F811
    assert_error(
        api.post("/v2/webhooks", json={"agent_id": api.agent_id, "url": PUBLIC, "events": ["run.started"]}),
        400,
    )
    assert_error(api.post("/v2/webhooks", json={"agent_id": api.agent_id, "url": PUBLIC, "events": []}), 400)
    assert_error(
        api.post("/v2/webhooks", json={"agent_id": api.agent_id, "url": PUBLIC, "process_id": "x" * 25}), 404
    )
    assert_error(api.get("/v2/webhooks/nope"), 404)
    other = api.services.store.agents.create("other")
    _, key = api.services.keys.create(agent_id=other.id)
    made = api.post("/v2/webhooks", json={"agent_id": api.agent_id, "url": PUBLIC}).json()  # type: ignore[attr-defined]
    assert_error(api.client.get(f"/v2/webhooks/{made['id']}", headers=api.headers(key)), 404)
    assert_error(
        api.client.get("/v2/webhooks", params={"agent_id": api.agent_id}, headers=api.headers(key)), 404
    )
    assert_error(
        api.client.post(
            "/v2/webhooks", json={"agent_id": api.agent_id, "url": PUBLIC}, headers=api.headers(key)
        ),
        404,
    )
