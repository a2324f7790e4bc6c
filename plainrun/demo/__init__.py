"""Example processes and the demo agent that ``plainrun serve --examples`` sets up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plainrun.services.access import SYSTEM
from plainrun.services.container import Services

HERE = Path(__file__).parent
DEMO_AGENT = "demo"


@dataclass(frozen=True)
class Demo:
    agent_id: str
    api_key: str
    processes: dict[str, str]  # name -> id


def seed(services: Services) -> Demo:
    """Create (once) the demo agent and its published example processes, and a fresh API key."""
    agent = services.agents.find(DEMO_AGENT) or services.agents.create(SYSTEM, DEMO_AGENT)
    existing = {
        p.name: p
        for archived in (False, True)  # an archived example keeps its name: it is not made again
        for p in services.processes.page(SYSTEM, agent.id, archived=archived).items
    }
    processes = {}
    for path in sorted(HERE.glob("*.process")):
        source = path.read_text(encoding="utf-8")
        name = services.processes.inspect(source).name
        process = existing.get(name)
        if process is None:
            process = services.processes.create(SYSTEM, agent_id=agent.id, source=source)
            services.processes.publish(SYSTEM, process.id)
        processes[name] = process.id
    _, key = services.keys.create(agent_id=agent.id, name="demo")
    return Demo(agent_id=agent.id, api_key=key, processes=processes)
