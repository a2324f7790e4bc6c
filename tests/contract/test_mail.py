"""E-mail in the store: one active address per stage, permissions, each message claimed once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from plainrun.store import Store
from tests.contract.conftest import make_process, make_runs


def test_addresses_rotate_and_a_revoked_token_finds_nothing(store: Store) -> None:
    process = make_process(store)
    where = {"process_id": process.id, "stage": "Draft", "agent_id": process.agent_id}
    with ThreadPoolExecutor(4) as pool:  # made once, however many ask at once
        tokens = set(pool.map(lambda _: store.mail.active_address(**where).token, range(8)))
    assert len(tokens) == 1
    (old,) = tokens
    new = store.mail.rotate_address(**where)
    assert new.token != old and store.mail.address(old) is None and store.mail.address(new.token) == new
    assert store.mail.active_address(**where) == new
    published = store.mail.active_address(process_id=process.id, stage="Published", agent_id=process.agent_id)
    assert published.token not in (old, new.token)


def test_permissions_and_members(store: Store) -> None:
    process = make_process(store)
    assert store.mail.permissions(process.id) is None and store.mail.members(process.agent_id) == []
    store.mail.set_permissions(process.id, mode="restricted", senders=["ap@acme.example"])
    store.mail.set_permissions(process.id, mode="members", senders=["@acme.example"])
    assert store.mail.permissions(process.id) == ("members", ["@acme.example"])
    store.mail.set_members(process.agent_id, ["a@x.example", "b@x.example"])
    assert store.mail.members(process.agent_id) == ["a@x.example", "b@x.example"]


def test_a_message_is_claimed_once_per_address_and_its_facts_are_kept(store: Store) -> None:
    process = make_process(store)
    address = store.mail.active_address(process_id=process.id, stage="Draft", agent_id=process.agent_id)
    facts = {"subject": "Invoice", "attachments": []}
    with ThreadPoolExecutor(4) as pool:
        claims = list(
            pool.map(
                lambda _: store.mail.claim_message(message_id="<m@x>", address=address, facts=facts), range(6)
            )
        )
    winners = [c for c in claims if c.won]
    assert len(winners) == 1 and {c.id for c in claims} == {winners[0].id}
    [run_id] = make_runs(store, 1, process=process)
    store.mail.record_run(winners[0].id, run_id)
    again = store.mail.claim_message(message_id="<m@x>", address=address, facts=facts)
    assert not again.won and again.run_id == run_id and store.mail.message("<m@x>", address.token) == again
    assert store.mail.facts(process_id=process.id, stage="Draft", message_id="<m@x>") == facts
    lost = store.mail.claim_message(message_id="<other@x>", address=address, facts=facts)
    store.mail.release_claim(lost.id)  # its run could not start: the sender's retry is received afresh
    assert store.mail.claim_message(message_id="<other@x>", address=address, facts=facts).won
