"""The UI's pages over HTTP (no browser) on SQLite and PostgreSQL: paging, filters, access, CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from plainrun.domain.runs import Stage, Trigger
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.services.runs import RunRequest
from plainrun.settings import Settings

SOURCE = "to add\n  the total is the a + the b\n  the output total is the total\n"
RUN_ID = re.compile(r'name="run_ids" value="(\w+)"')


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    built = build_services(Settings(database_url=database_url, data_dir=tmp_path), migrate=True)
    yield built
    built.close()


def signed_in(services: Services, agent_id: str) -> TestClient:
    services.users.create(agent_id=agent_id, name=f"u{agent_id[-6:]}", password="password 1")
    client = TestClient(create_app(services.settings, services=services))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/sign-in").text)
    assert token
    signed = client.post(
        "/ui/sign-in", data={"csrf_token": token[1], "name": f"u{agent_id[-6:]}", "password": "password 1"}
    )
    assert signed.status_code == 200 and "Signed in as" in signed.text
    return client


def csrf(client: TestClient, path: str) -> str:
    found = re.search(r'data-csrf="([^"]+)"', client.get(path).text)
    assert found
    return found[1]


def test_view_runs_pages_newest_first_and_filters_by_trigger_state_and_archived(services: Services) -> None:
    agent = services.store.agents.create("acme")
    process = services.processes.create(SYSTEM, agent_id=agent.id, source=SOURCE)
    started = [
        services.runs.start(
            SYSTEM,
            RunRequest(
                agent_id=agent.id,
                process_id=process.id,
                stage=Stage.DRAFT,
                name=f"run {i}",
                inputs={"a": i, "b": 1},
                trigger=Trigger.MANUAL if i % 3 == 0 else Trigger.API,
            ),
        ).id
        for i in range(30)
    ]
    client = signed_in(services, agent.id)
    url = f"/ui/processes/{process.id}/runs"

    first = client.get(url)
    assert first.status_code == 200
    page1 = RUN_ID.findall(first.text)
    assert page1 == started[::-1][:25]
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older
    page2 = RUN_ID.findall(client.get(older[1].replace("&amp;", "&")).text)
    assert page2 == started[::-1][25:]

    manual = RUN_ID.findall(client.get(url, params={"trigger": "manual", "state": "", "stage": ""}).text)
    assert manual == [r for i, r in enumerate(started) if i % 3 == 0][::-1]
    assert RUN_ID.findall(client.get(url, params={"state": "Succeeded"}).text) == []
    assert client.get(url, params={"trigger": "carrier pigeon"}).status_code == 400

    token = csrf(client, url)
    archived = client.post(
        f"{url}/actions", data={"csrf_token": token, "action": "archive", "run_ids": started[:2]}
    )
    assert "Archived: 2 of 2 run(s)." in archived.text
    assert set(RUN_ID.findall(client.get(url, params={"archived": "true"}).text)) == set(started[:2])
    assert not set(started[:2]) & set(RUN_ID.findall(archived.text))


def test_another_agents_pages_are_not_found_and_unsafe_requests_need_the_token(services: Services) -> None:
    mine, theirs = services.store.agents.create("acme"), services.store.agents.create("globex")
    hidden = services.processes.create(SYSTEM, agent_id=theirs.id, source=SOURCE)
    own = services.processes.create(SYSTEM, agent_id=mine.id, source=SOURCE)
    client = signed_in(services, mine.id)
    for path in (
        f"/ui/processes/{hidden.id}",
        f"/ui/processes/{hidden.id}/tests",
        f"/ui/agents/{theirs.id}/processes",
    ):
        assert client.get(path).status_code == 404, path
    token = csrf(client, f"/ui/processes/{own.id}")
    assert client.post(f"/ui/processes/{hidden.id}/publish", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/ui/processes/{own.id}/publish", data={}).status_code == 403
    assert services.store.processes.get(own.id).published_version is None  # type: ignore[union-attr]
    published = client.post(f"/ui/processes/{own.id}/publish", data={"csrf_token": token})
    assert published.status_code == 200 and "Published version 1." in published.text
