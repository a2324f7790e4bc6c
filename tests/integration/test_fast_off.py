"""With the speed devices off (``PLAINRUN_FAST=false``) a run takes the general paths end to end:
SQLAlchemy's ``Connection`` for every statement, FastAPI's routes for every request, every store
call from an event loop in a thread. The API's own tests also run this way (``test_api.py``)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from plainrun.domain.runs import RunState
from plainrun.engine.worker import WorkerConfig
from plainrun.http import create_app
from plainrun.http.speed import RunsFastPath
from plainrun.services.container import build_services
from plainrun.settings import Settings
from plainrun.store.database import Database
from plainrun.store.tx import CoreTx
from tests.integration.test_engine import wait_for, worker_in_thread

GREET = 'to greet a customer\n  the output greeting is "Hello, {the customer name}!"\n'


def test_a_run_goes_from_post_to_outcome_on_the_general_paths(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, fast=False)
    services = build_services(settings, migrate=True)
    database: Database = services.store.database  # type: ignore[attr-defined]
    with database.read() as tx:
        assert isinstance(tx, CoreTx)
    assert not database.inline_ok
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    app = create_app(settings, services=services)
    assert all(m.cls is not RunsFastPath for m in app.user_middleware)
    headers = {"x-api-key": key}
    try:
        with TestClient(app) as client, worker_in_thread(services, WorkerConfig(executor_size=1)):
            process = client.post(
                "/v2/processes", headers=headers, json={"agent_id": agent.id, "source": GREET}
            )
            assert (
                client.post(f"/v2/processes/{process.json()['id']}/publish", headers=headers).status_code
                == 201
            )
            body = {
                "name": "r",
                "process_id": process.json()["id"],
                "agent_id": agent.id,
                "stage": "Published",
            }
            started = [
                client.post("/v2/runs", headers=headers, json={**body, "inputs": {"customer name": f"c{i}"}})
                for i in range(5)
            ]
            assert all(r.status_code == 201 for r in started)

            def succeeded() -> bool:
                runs = [client.get(f"/v2/runs/{r.json()['id']}", headers=headers).json() for r in started]
                return all(run["state"] == RunState.SUCCEEDED.value for run in runs)

            wait_for(succeeded, 60, "the runs to succeed")
            run = client.get(f"/v2/runs/{started[3].json()['id']}", headers=headers).json()
            assert run["outputs"] == [{"name": "greeting", "value": "Hello, c3!"}]
    finally:
        services.close()
