"""The services over a real, migrated SQLite store, and what their tests build on it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from plainrun.domain.agents import Agent
from plainrun.domain.processes import Process
from plainrun.domain.runs import Outcome, RunState
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

#: Needs the inputs ``amount`` and ``tax``.
SOURCE = "to add up an invoice\n  the sum is the amount + the tax\n"


@pytest.fixture
def services(sqlite_url: str, tmp_path: Path) -> Iterator[Services]:
    services = build_services(Settings(database_url=sqlite_url, data_dir=tmp_path), migrate=True)
    yield services
    services.close()


def agent_principal(services: Services, agent: Agent) -> Principal:
    """The principal of a new API key of the agent, as it authenticates."""
    _, plaintext = services.keys.create(agent_id=agent.id)
    return services.keys.authenticate(plaintext)


def new_process(
    services: Services, agent: Agent, source: str = SOURCE, *, publish: bool = False, **kw: Any
) -> Process:
    process = services.processes.create(SYSTEM, agent_id=agent.id, source=source, **kw)
    if publish:
        services.processes.publish(SYSTEM, process.id)
    return process


def settle(services: Services, outcomes: Sequence[tuple[str, RunState, dict[str, Any]]]) -> None:
    """End runs as a worker would: claim every pending run, record these outcomes (run id, state and
    the outcome's fields), and hand the other runs back."""
    claimed = {r.id: r for r in services.store.execution.claim("test-worker", limit=1000, lease_s=60)}
    wanted = {run_id for run_id, _, _ in outcomes}
    assert wanted <= set(claimed), "a run to settle was not pending"
    written = services.store.execution.finish(
        [Outcome(run_id, claimed[run_id].attempt, state, **fields) for run_id, state, fields in outcomes]
    )
    assert all(written)
    services.store.execution.hand_back("test-worker", [r for r in claimed if r not in wanted])
