"""Users of the web UI: scrypt-hashed passwords, one answer for any wrong sign-in, identities checked."""

from __future__ import annotations

import pytest

from plainrun.domain.agents import Agent
from plainrun.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.container import Services
from plainrun.services.users import MAX_PASSWORD, MIN_PASSWORD, hash_password, verify_password

PASSWORD = "correct horse battery"


@pytest.fixture
def acme(services: Services) -> Agent:
    return services.agents.create(SYSTEM, "acme")


def test_a_password_is_kept_as_a_salted_scrypt_hash_with_its_parameters(
    services: Services, acme: Agent
) -> None:
    user = services.users.create(agent_id=acme.id, name="ann", password=PASSWORD)
    kind, n, r, p, _salt, _digest = user.password_hash.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1") and PASSWORD not in user.password_hash
    assert verify_password(PASSWORD, user.password_hash) and not verify_password("wrong", user.password_hash)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # a new salt each time
    assert hash_password(PASSWORD, salt=b"1" * 16) == hash_password(PASSWORD, salt=b"1" * 16)
    for stored in ("", "md5$x", "scrypt$1$2$3$not base64$x", "bcrypt$16384$8$1$AAAA$AAAA"):
        assert not verify_password(PASSWORD, stored)


def test_a_user_needs_a_name_without_spaces_and_a_password_within_bounds(
    services: Services, acme: Agent
) -> None:
    for name, password, match in (
        ("", PASSWORD, "name"),
        ("ann smith", PASSWORD, "name"),
        ("n" * 101, PASSWORD, "name"),
        ("ann", "p" * (MIN_PASSWORD - 1), "password"),
        ("ann", "p" * (MAX_PASSWORD + 1), "password"),
    ):
        with pytest.raises(InvalidInput, match=match):
            services.users.create(agent_id=acme.id, name=name, password=password)
    assert services.users.all() == []


def test_a_user_belongs_to_an_existing_agent(services: Services, acme: Agent) -> None:
    with pytest.raises(NotFound, match="agent"):
        services.users.create(agent_id="0" * 25, name="ann", password=PASSWORD)
    ann = services.users.create(agent_id=acme.id, name="  ann  ", password="p" * MIN_PASSWORD)
    other = services.agents.create(SYSTEM, "other")
    bob = services.users.create(agent_id=other.id, name="bob", password="p" * MAX_PASSWORD)
    assert ann.name == "ann"
    assert services.users.all(acme.id) == [ann] and services.users.all() == [ann, bob]
    with pytest.raises(Conflict):  # a name signs in to one user of the whole installation
        services.users.create(agent_id=other.id, name="ann", password=PASSWORD)


def test_signing_in_needs_the_right_name_and_password_and_any_wrong_one_is_the_same_refusal(
    services: Services, acme: Agent
) -> None:
    ann = services.users.create(agent_id=acme.id, name="ann", password=PASSWORD)
    assert services.users.sign_in(" ann ", PASSWORD) == ann
    messages = set()
    for name, password in (("ann", "wrong password"), ("nobody", PASSWORD), ("", PASSWORD), ("ann", "")):
        with pytest.raises(Unauthenticated) as caught:
            services.users.sign_in(name, password)
        messages.add(caught.value.message)
    assert len(messages) == 1  # nothing tells a wrong name from a wrong password


def test_a_password_longer_than_any_users_is_never_right(services: Services, acme: Agent) -> None:
    longest = "p" * MAX_PASSWORD
    services.users.create(agent_id=acme.id, name="ann", password=longest)
    with pytest.raises(Unauthenticated):
        services.users.sign_in("ann", longest + "not the password")


def test_a_session_identity_holds_only_while_its_user_or_key_exists(services: Services, acme: Agent) -> None:
    ann = services.users.create(agent_id=acme.id, name="ann", password=PASSWORD)
    signed_in = services.users.identity("user", ann.id)
    assert signed_in is not None and signed_in.label == "ann"
    assert signed_in.principal == Principal(key_id=f"user:{ann.id}", agent_id=acme.id)
    key, _ = services.keys.create(agent_id=acme.id)
    by_key = services.users.identity("key", key.id)
    assert by_key is not None and by_key.principal == Principal(key.id, acme.id)
    assert by_key.label == f"key {key.prefix}…"
    assert services.users.delete("ann") == ann  # by name
    assert services.users.identity("user", ann.id) is None  # signed out at once
    services.keys.revoke(key.id)
    assert services.users.identity("key", key.id) is None
    assert services.users.identity("robot", ann.id) is None


def test_a_user_is_deleted_by_name_or_by_id_once(services: Services, acme: Agent) -> None:
    ann = services.users.create(agent_id=acme.id, name="ann", password=PASSWORD)
    assert services.users.delete(ann.id) == ann
    for name_or_id in (ann.id, "ann", "nobody"):
        with pytest.raises(NotFound):
            services.users.delete(name_or_id)
    with pytest.raises(Unauthenticated):
        services.users.sign_in("ann", PASSWORD)
