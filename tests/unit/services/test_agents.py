"""Agents: made only by the installation; a key of one agent sees no other."""

from __future__ import annotations

import pytest

from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import SYSTEM
from plainrun.services.agents import MAX_NAME
from plainrun.services.container import Services
from tests.unit.services.conftest import agent_principal


def test_only_the_installation_makes_agents_and_their_names_are_trimmed_and_bounded(
    services: Services,
) -> None:
    acme = services.agents.create(SYSTEM, "  acme  ")
    assert acme.name == "acme" and services.agents.get(SYSTEM, acme.id) == acme
    assert services.agents.create(SYSTEM, "n" * MAX_NAME).name == "n" * MAX_NAME
    for name in ("", "   ", "n" * (MAX_NAME + 1)):
        with pytest.raises(InvalidInput, match="name"):
            services.agents.create(SYSTEM, name)
    scoped = agent_principal(services, acme)
    with pytest.raises(NotFound):  # not "forbidden": an agent's key knows of no other agent
        services.agents.create(scoped, "another")
    assert [a.name for a in services.agents.visible(SYSTEM)] == ["acme", "n" * MAX_NAME]


def test_an_agents_key_sees_only_its_own_agent(services: Services) -> None:
    acme = services.agents.create(SYSTEM, "acme")
    other = services.agents.create(SYSTEM, "other")
    scoped = agent_principal(services, acme)
    assert services.agents.get(scoped, acme.id) == acme
    assert services.agents.visible(scoped) == [acme]
    assert services.agents.visible(SYSTEM) == [acme, other]
    for agent_id in (other.id, "0" * 25):
        with pytest.raises(NotFound):
            services.agents.get(scoped, agent_id)
    with pytest.raises(NotFound):
        services.agents.get(SYSTEM, "0" * 25)


def test_find_is_the_oldest_agent_of_a_name(services: Services) -> None:
    first = services.agents.create(SYSTEM, "acme")
    services.agents.create(SYSTEM, "acme")
    assert services.agents.find("acme") == first
    assert services.agents.find("nobody") is None
