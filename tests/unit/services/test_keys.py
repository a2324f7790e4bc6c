"""API keys: shown once, stored as a hash, scoped, remembered for a moment, revocable."""

from __future__ import annotations

import time

import pytest

from plainrun.errors import NotFound, Unauthenticated
from plainrun.services.access import SYSTEM, Principal
from plainrun.services.container import Services
from plainrun.services.keys import KEY_PREFIX, KeyService, hash_key


def test_a_key_is_shown_once_stored_as_its_hash_and_scoped(services: Services) -> None:
    acme = services.agents.create(SYSTEM, "acme")
    key, plaintext = services.keys.create(agent_id=acme.id, name="ci")
    installation, plain_installation = services.keys.create(agent_id=None)
    assert plaintext.startswith(KEY_PREFIX) and len(plaintext) >= 32 and key.prefix == plaintext[:12]
    assert plaintext not in repr(key) and plaintext not in repr(services.keys.all())
    assert services.store.agents.key_by_hash(hash_key(plaintext)) == key
    assert services.keys.authenticate(plaintext) == Principal(key_id=key.id, agent_id=acme.id)
    assert services.keys.authenticate(plain_installation) == Principal(installation.id, None)
    assert {k.id for k in services.keys.all()} == {key.id, installation.id}
    with pytest.raises(NotFound):
        services.keys.create(agent_id="0" * 25)


@pytest.mark.parametrize("plaintext", [None, "", "prk_wrong", "prk_" + "x" * 300])
def test_an_unknown_missing_or_over_long_key_is_unauthenticated(
    services: Services, plaintext: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        services.keys.authenticate(plaintext)


def test_a_checked_key_is_remembered_for_the_cache_time_only(services: Services) -> None:
    keys = KeyService(services.store, cache_s=1.0)
    _, plaintext = keys.create(agent_id=None)
    assert keys.cached(plaintext) is None  # not checked yet
    principal = keys.authenticate(plaintext)
    assert keys.cached(plaintext) == principal
    assert keys.cached("x" * 201) is None and keys.cached("") is None
    time.sleep(1.05)
    assert keys.cached(plaintext) is None
    uncached = KeyService(services.store, cache_s=0)
    uncached.authenticate(plaintext)
    assert uncached.cached(plaintext) is None


def test_a_revoked_key_is_refused_at_once_here_and_after_the_cache_time_elsewhere(
    services: Services,
) -> None:
    here = KeyService(services.store, cache_s=60)
    elsewhere = KeyService(services.store, cache_s=1.0)  # another server of the installation
    key, plaintext = here.create(agent_id=None)
    _, kept = here.create(agent_id=None)
    for service, checked in ((here, plaintext), (here, kept), (elsewhere, plaintext)):
        service.authenticate(checked)
    here.revoke(key.id)
    with pytest.raises(Unauthenticated):
        here.authenticate(plaintext)
    assert here.cached(plaintext) is None and here.cached(kept) is not None  # only that key forgotten
    assert elsewhere.authenticate(plaintext).key_id == key.id  # still remembered there
    time.sleep(1.05)
    with pytest.raises(Unauthenticated):
        elsewhere.authenticate(plaintext)
    assert next(k for k in here.all() if k.id == key.id).revoked_at is not None
    with pytest.raises(NotFound, match="already revoked"):
        here.revoke(key.id)
    with pytest.raises(NotFound):
        here.revoke("0" * 25)
