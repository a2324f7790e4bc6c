"""Who is asking: a principal is an API key scoped to the installation or to one agent."""

from __future__ import annotations

from dataclasses import dataclass

from plainrun.errors import NotFound


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    #: None: the whole installation.
    agent_id: str | None

    def can_see(self, agent_id: str) -> bool:
        return self.agent_id is None or self.agent_id == agent_id

    def require(self, agent_id: str, what: str = "resource") -> None:
        """A resource of another agent is not found, never forbidden."""
        if not self.can_see(agent_id):
            raise NotFound(f"The {what} was not found.")


#: The installation itself, for the CLI run on the server's machine, the scheduler and the mail receiver.
SYSTEM = Principal(key_id="system", agent_id=None)
