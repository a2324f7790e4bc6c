"""schemathesis against plainrun's own OpenAPI document (/v2/openapi.json), in process.

Every operation gets generated requests (a fixed seed, a bounded number of examples): no 5xx, and no
response that breaks the document (status codes, content types, bodies). The seed spec itself is
fuzzed against a live server by tests/acceptance/test_seed_spec.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from plainrun.domain.runs import Stage
from plainrun.domain.webhooks import Attempt
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import build_services
from plainrun.services.runs import RunRequest
from tests.security.conftest import GREET, settings_for

pytestmark = pytest.mark.xdist_group("own-spec")
KEY: dict[str, str] = {}
#: Real ids, put in place of generated ones in half the cases so that those reach past "not found".
REAL: dict[str, Any] = {}


def with_real_ids(case: schemathesis.Case) -> None:
    for part in (case.path_parameters, case.query, case.body):
        if isinstance(part, dict):
            part.update({name: value for name, value in REAL.items() if name in part})


@pytest.fixture(scope="module")
def own_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("own-spec")
    app_settings = settings_for(f"sqlite:///{tmp / 'plainrun.db'}", tmp)
    services = build_services(app_settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, KEY["x-api-key"] = services.keys.create(agent_id=agent.id)
    process = services.processes.create(SYSTEM, agent_id=agent.id, source=GREET)
    services.processes.publish(SYSTEM, process.id)
    file = services.files.put(SYSTEM, agent_id=agent.id, name="a.txt", content_type="text/plain", data=b"a")
    run = services.runs.start(
        SYSTEM, RunRequest(agent.id, process.id, Stage.PUBLISHED, "a run", {"customer name": "Ada"})
    )
    app = create_app(app_settings, services=services)
    # A webhook with a delivery and an attempt, so that its routes answer with bodies to check.
    webhook = services.webhooks.create(SYSTEM, agent_id=agent.id, url="https://93.184.215.14/hook")
    cancelled = services.runs.start(
        SYSTEM,
        RunRequest(
            agent_id=agent.id,
            process_id=process.id,
            stage=Stage.PUBLISHED,
            name="r",
            inputs={"customer name": "Ada"},
        ),
    )
    services.runs.cancel(SYSTEM, cancelled.id)
    [(delivery, _)] = services.webhooks.claim(limit=1, lease_s=60)
    attempt = Attempt(at=delivery.created_at, status_code=503, response="later", duration_ms=5, error=None)
    services.store.webhooks.record(delivery, attempt, retry_at=delivery.created_at)
    REAL.update(
        agent_id=agent.id,
        process_id=process.id,
        run_id=run.id,
        file_id=file.id,
        file_ids=[file.id],
        webhook_id=webhook.id,
    )
    with TestClient(app):  # runs the lifespan
        yield schemathesis.openapi.from_asgi("/v2/openapi.json", app)
    services.close()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_own_openapi_document_holds(own_schema: Any) -> None:
    """Each operation in turn, with hypothesis driving schemathesis' strategy for it."""
    failures: list[str] = []
    for result in own_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), real=st.booleans())
        @settings(
            max_examples=12,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def holds(case: schemathesis.Case, real: bool) -> None:
            if real:
                with_real_ids(case)
            case.call_and_validate(headers=dict(KEY), checks=CHECKS)

        try:
            holds()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)  # every operation's failures, not just the first's


def test_the_document_names_every_route(own_schema: Any) -> None:
    operations = {op.ok().label for op in own_schema.get_all_operations()}
    assert "GET /v2/runs" in operations and "POST /v2/files/{file_id}/upload" in operations
    assert len(operations) > 30, Path(__file__).name


def test_every_route_declares_the_bodies_it_answers(own_schema: Any) -> None:
    """So that response_schema_conformance checks every body: each 2xx answer with a body has a schema."""
    undeclared = []
    for path, methods in own_schema.raw_schema["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                schemas = [c.get("schema") or {} for c in response.get("content", {}).values()]
                if not schemas or not all(s.get("$ref") or s.get("type") or s.get("anyOf") for s in schemas):
                    undeclared.append(f"{method.upper()} {path} {status}")
    assert not undeclared, undeclared
