"""Agents: the owners of processes, runs and files, as a caller may see them."""

from __future__ import annotations

from plainrun.domain.agents import Agent
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import Principal
from plainrun.store import Store

MAX_NAME = 100


class AgentService:
    def __init__(self, store: Store):
        self.store = store

    def get(self, principal: Principal, agent_id: str) -> Agent:
        """An agent the caller can see; any other is not found."""
        agent = self.store.agents.get(agent_id) if principal.can_see(agent_id) else None
        if agent is None:
            raise NotFound("The agent was not found.")
        return agent

    def visible(self, principal: Principal) -> list[Agent]:
        """The agents the caller can see: all of them for an installation key, else its own."""
        return [a for a in self.store.agents.all() if principal.can_see(a.id)]

    def find(self, name: str) -> Agent | None:
        """The oldest agent with this name (the CLI and the demo name agents)."""
        return next((a for a in self.store.agents.all() if a.name == name), None)

    def create(self, principal: Principal, name: str) -> Agent:
        """A new agent; only the installation can make one (a key of one agent sees no other)."""
        if principal.agent_id is not None:
            raise NotFound("The resource was not found.")
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME:
            raise InvalidInput(
                f"An agent's name is 1 to {MAX_NAME} characters.", details=[("name", name[:MAX_NAME])]
            )
        return self.store.agents.create(name)
