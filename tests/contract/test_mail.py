"""E-mail in the store: one active address per stage, permissions, each message claimed once."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from plainrun.domain.clock import utcnow
from plainrun.domain.mail import Claim, ClaimState
from plainrun.domain.processes import Process
from plainrun.domain.runs import NewRun, Trigger
from plainrun.store import Store
from plainrun.store.sql import mail as mail_sql
from plainrun.store.sql.mail import STALE_CLAIM
from tests.contract.conftest import make_process, new_runs


def by_mail(store: Store, n: int, process: Process) -> list[NewRun]:
    """Runs of the process started by the message ``<m@x>``, not yet written."""
    made = new_runs(store, n, process=process)
    return [dataclasses.replace(r, trigger=Trigger.EMAIL, trigger_ref="<m@x>") for r in made]


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


def test_a_message_is_claimed_once_per_address_and_its_facts_and_run_are_written_together(
    store: Store,
) -> None:
    process = make_process(store)
    address = store.mail.active_address(process_id=process.id, stage="Draft", agent_id=process.agent_id)
    with ThreadPoolExecutor(4) as pool:
        claims = list(
            pool.map(lambda _: store.mail.claim_message(message_id="<m@x>", address=address), range(6))
        )
    [winner] = [c for c in claims if c.won]
    # the others find a fresh claim without its run: their delivery waits (451), nothing is started
    assert {c.state for c in claims if not c.won} == {ClaimState.RECEIVING}
    assert store.mail.message("<m@x>", address.token) == Claim(ClaimState.RECEIVING, winner.id)
    facts = {"subject": "Invoice", "attachments": []}
    [run] = by_mail(store, 1, process)
    assert winner.id is not None and store.mail.start_run(winner.id, facts=facts, run=run)
    assert store.runs.get(run.id) is not None
    again = store.mail.claim_message(message_id="<m@x>", address=address)
    assert again == Claim(ClaimState.STARTED, winner.id, run.id) == store.mail.message("<m@x>", address.token)
    assert store.mail.facts(process_id=process.id, stage="Draft", message_id="<m@x>") == facts
    # written once: the same claim cannot start a second run
    [second] = by_mail(store, 1, process)
    assert not store.mail.start_run(winner.id, facts=facts, run=second)
    assert store.runs.get(second.id) is None
    lost = store.mail.claim_message(message_id="<other@x>", address=address)
    assert lost.id is not None
    store.mail.release_claim(lost.id)  # its run could not start: the sender's retry is received afresh
    assert store.mail.claim_message(message_id="<other@x>", address=address).won


def test_a_claim_whose_run_was_never_written_is_taken_over_once_stale_and_the_old_one_is_fenced(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = make_process(store)
    address = store.mail.active_address(process_id=process.id, stage="Draft", agent_id=process.agent_id)
    dead = store.mail.claim_message(message_id="<m@x>", address=address)  # its receiver dies here
    assert dead.won and dead.id is not None
    soon = utcnow() + STALE_CLAIM - timedelta(minutes=1)
    monkeypatch.setattr(mail_sql, "utcnow", lambda: soon)
    assert store.mail.claim_message(message_id="<m@x>", address=address).state is ClaimState.RECEIVING
    later = utcnow() + STALE_CLAIM + timedelta(minutes=1)
    monkeypatch.setattr(mail_sql, "utcnow", lambda: later)
    heir = store.mail.claim_message(message_id="<m@x>", address=address)
    assert heir.won and heir.id not in (None, dead.id)
    [late, run] = by_mail(store, 2, process)
    assert not store.mail.start_run(dead.id, facts={}, run=late)  # the old receiver woke: it writes nothing
    assert heir.id is not None and store.mail.start_run(heir.id, facts={"subject": "s"}, run=run)
    assert store.runs.get(late.id) is None and store.runs.get(run.id) is not None
    assert store.mail.claim_message(message_id="<m@x>", address=address).run_id == run.id


def test_new_messages_past_the_rate_wait_and_repeats_are_not_counted(store: Store) -> None:
    process = make_process(store)
    draft = store.mail.active_address(process_id=process.id, stage="Draft", agent_id=process.agent_id)
    published = store.mail.active_address(process_id=process.id, stage="Published", agent_id=process.agent_id)
    first = store.mail.claim_message(message_id="<1@x>", address=draft, per_minute=2)
    assert store.mail.claim_message(message_id="<2@x>", address=published, per_minute=2).won  # per process
    assert store.mail.claim_message(message_id="<3@x>", address=draft, per_minute=2).state is (
        ClaimState.OVER_RATE
    )
    assert store.mail.claim_message(message_id="<1@x>", address=draft, per_minute=2) == Claim(
        ClaimState.RECEIVING, first.id
    )
    other = make_process(store)
    elsewhere = store.mail.active_address(process_id=other.id, stage="Draft", agent_id=other.agent_id)
    assert store.mail.claim_message(message_id="<3@x>", address=elsewhere, per_minute=2).won
