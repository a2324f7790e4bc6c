"""File names lose the invisible characters that would make them show something else, where they
enter (an upload target, a file a run writes, an e-mail attachment share one rule); /metrics, whose
counts cover every agent, needs an installation-wide key when the service listens beyond loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plainrun.domain.files import clean_filename
from plainrun.http import create_app
from plainrun.services.container import build_services
from tests.security.conftest import settings_for


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # RIGHT-TO-LEFT OVERRIDE: would show "invoiceexe.pdf"
        ("\u2066report\u2069.pdf", "report.pdf"),  # bidi isolates
        ("\ufeffnotes.txt", "notes.txt"),  # a byte-order mark
        ("pay\u200b\u200d\u2060roll.csv", "payroll.csv"),  # zero-width characters
        ("a\u2028b\u2029c.txt", "a_b_c.txt"),  # line and paragraph separators
        ("a\x85b\x9bc.txt", "a_b_c.txt"),  # C1 controls (NEL, CSI)
        ("\u202e", "file"),
        ("Résumé - 日本語.pdf", "Résumé - 日本語.pdf"),  # visible text stays as it is
    ],
)
def test_file_names_lose_bidi_and_format_characters_where_they_enter(
    sqlite_url: str, tmp_path: Path, given: str, kept: str
) -> None:
    assert clean_filename(given) == kept
    settings = settings_for(sqlite_url, tmp_path)
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    with TestClient(create_app(settings, services=services)) as client:
        r = client.post("/v2/files", headers={"x-api-key": key}, json={"agent_id": agent.id, "name": given})
        assert r.status_code == 201 and r.json()["name"] == kept, r.text
    services.close()


@pytest.fixture
def keys(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """The database's URL, an installation-wide key and an agent's key."""
    services = build_services(settings_for(sqlite_url, tmp_path), migrate=True)
    agent = services.store.agents.create("acme")
    _, admin = services.keys.create(agent_id=None)
    _, scoped = services.keys.create(agent_id=agent.id)
    services.close()
    yield sqlite_url, admin, scoped


@pytest.mark.parametrize(
    ("host", "metrics_open", "needs_key"),
    [
        ("0.0.0.0", None, True),
        ("192.0.2.10", None, True),
        ("::", None, True),
        ("127.0.0.1", None, False),
        ("localhost", None, False),
        ("::1", None, False),
        ("127.0.0.1", False, True),
        ("0.0.0.0", True, False),
    ],
)
def test_metrics_need_an_installation_key_when_listening_beyond_loopback(
    keys: tuple[str, str, str], tmp_path: Path, host: str, metrics_open: bool | None, needs_key: bool
) -> None:
    url, admin, scoped = keys
    settings = settings_for(url, tmp_path, host=host, metrics_open=metrics_open)
    assert settings.metrics_need_key is needs_key
    services = build_services(settings)
    try:
        with TestClient(create_app(settings, services=services)) as client:
            bare = client.get("/metrics/")
            if not needs_key:
                assert bare.status_code == 200 and "plainrun_runs" in bare.text
                return
            assert bare.status_code == 401 and bare.json()["status_code"] == 401
            assert "plainrun_runs" not in bare.text
            wrong = client.get("/metrics/", headers={"authorization": "Bearer not-a-key"})
            assert wrong.status_code == 401
            by_agent = client.get("/metrics/", headers={"x-api-key": scoped})
            assert by_agent.status_code == 403
            assert by_agent.json()["message"] == "The metrics need an installation-wide API key."
            for headers in ({"x-api-key": admin}, {"authorization": f"Bearer {admin}"}):
                r = client.get("/metrics/", headers=headers)
                assert r.status_code == 200 and "plainrun_runs" in r.text
    finally:
        services.close()
