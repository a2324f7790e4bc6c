"""schemathesis over the seed specification (tests/spec/runs-v2.openapi.json), in process, on SQLite
and PostgreSQL, with real ids drawn from the database (agents, processes, runs, files) in place of
generated ones in half the cases, so that requests reach past "not found": no 5xx, and no status
code, content type or body the seed specification does not allow.

Bounded: a fixed seed and a dozen examples per operation and database (well under a minute each).
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

from plainrun.domain.runs import RunQuery, Stage
from plainrun.http import create_app
from plainrun.services.access import SYSTEM
from plainrun.services.container import build_services
from plainrun.services.runs import RunRequest
from tests.security.conftest import GREET, settings_for
from tests.security.test_own_spec import CHECKS

SPEC = Path(__file__).parents[1] / "spec" / "runs-v2.openapi.json"
pytestmark = pytest.mark.xdist_group("seed-spec")


@pytest.fixture(scope="module")
def seeded(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The seed schema bound to an app whose database holds agents, processes, runs and files; and
    the ids, read back from the database."""
    tmp = tmp_path_factory.mktemp("seed-spec")
    app_settings = settings_for(module_database_url, tmp)
    services = build_services(app_settings, migrate=True)
    for name in ("acme", "globex"):
        agent = services.store.agents.create(name)
        process = services.processes.create(SYSTEM, agent_id=agent.id, source=GREET)
        services.processes.publish(SYSTEM, process.id)
        services.files.put(SYSTEM, agent_id=agent.id, name="a.txt", content_type="text/plain", data=b"a")
        for stage in (Stage.PUBLISHED, Stage.DRAFT):
            request = RunRequest(agent.id, process.id, stage, f"{name} run", {"customer name": "Ada"})
            services.runs.start(SYSTEM, request)
    _, key = services.keys.create(agent_id=None)
    real = _drawn(services)
    schema = schemathesis.openapi.from_path(SPEC)
    schema.app = create_app(app_settings, services=services)
    schema.config.update(base_url="http://localhost/v2")
    with TestClient(schema.app):  # runs the lifespan
        yield {"schema": schema, "key": key, "real": real}
    services.close()


def _drawn(services: Any) -> dict[str, list[Any]]:
    """Every agent, process, run and file id in the database, as the store reads them."""
    store = services.store
    agents = [a.id for a in store.agents.all()]
    processes = [p for a in agents for p in store.processes.page(a, limit=100)]
    runs = [
        r.id for p in processes for r in store.runs.page(RunQuery(process_id=p.id, archived=None), limit=100)
    ]
    files = [f.id for f in store.files.ready_files()]
    assert agents and processes and runs and files
    return {
        "agent_id": agents,
        "process_id": [p.id for p in processes],
        "run_id": runs,
        "file_ids": [[f] for f in files],
    }


def _with_real_ids(case: schemathesis.Case, pick: Any, real: dict[str, list[Any]]) -> None:
    for part in (case.path_parameters, case.query, case.body):
        if isinstance(part, dict):
            for name in [n for n in real if n in part]:
                part[name] = pick(st.sampled_from(real[name]))


def test_the_seed_specification_holds_with_real_ids(seeded: dict[str, Any]) -> None:
    failures: list[str] = []
    for result in seeded["schema"].get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), real=st.booleans(), data=st.data())
        @settings(
            max_examples=12,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def holds(case: schemathesis.Case, real: bool, data: st.DataObject) -> None:
            if real:
                _with_real_ids(case, data.draw, seeded["real"])
            case.call_and_validate(headers={"x-api-key": seeded["key"]}, checks=CHECKS)

        try:
            holds()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
