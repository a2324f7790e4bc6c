"""E-mail to a process: an address per stage, who may send, and one run per message and address."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from plainrun.domain.agents import Agent
from plainrun.domain.processes import Process
from plainrun.domain.runs import Stage, Trigger
from plainrun.errors import InvalidInput, NotFound, TooLarge
from plainrun.services.access import SYSTEM
from plainrun.services.compiler import ProcessSourceInvalid
from plainrun.services.container import Services
from plainrun.services.mail import SenderNotAllowed
from plainrun.services.runs import MAX_FILES
from tests.unit.services.conftest import SOURCE, agent_principal, new_process

SENDER = "ap@acme.example"


@pytest.fixture
def acme(services: Services) -> Agent:
    return services.agents.create(SYSTEM, "acme")


@pytest.fixture
def process(services: Services, acme: Agent) -> Process:
    return new_process(services, acme, publish=True)


def addresses(services: Services, process: Process) -> dict[Stage, str]:
    return {a.stage: a.address for a in services.mail.settings(SYSTEM, process.id).addresses}


def message(subject: str | None = "Invoice A-17", message_id: str = "<m1@acme.example>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Accounts Payable <{SENDER}>"
    msg["To"] = "invoices@acme.example"
    if subject is not None:
        msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content("Please pay.")
    return msg


def test_each_stage_has_an_address_made_on_first_use_and_rotating_one_revokes_it(
    services: Services, process: Process
) -> None:
    first = addresses(services, process)
    assert first == addresses(services, process)  # made once
    assert set(first) == {Stage.DRAFT, Stage.PUBLISHED} and first[Stage.DRAFT] != first[Stage.PUBLISHED]
    assert all(a.startswith("p-") and a.endswith("@plainrun.localhost") for a in first.values())
    rotated = services.mail.rotate(SYSTEM, process.id, Stage.PUBLISHED)
    assert rotated.address != first[Stage.PUBLISHED]
    assert addresses(services, process) == {**first, Stage.PUBLISHED: rotated.address}
    with pytest.raises(NotFound):
        services.mail.resolve(first[Stage.PUBLISHED])
    found = services.mail.resolve(f" <{rotated.address.upper()}> ")  # as SMTP may spell it
    assert (found.process_id, found.stage, found.agent_id) == (process.id, "Published", process.agent_id)


def test_a_recipient_that_names_no_active_address_of_this_domain_is_not_found(
    services: Services, process: Process
) -> None:
    token = addresses(services, process)[Stage.DRAFT].split("@")[0].removeprefix("p-")
    services.mail.resolve(f"p-{token}@plainrun.localhost")
    for recipient in (
        f"p-{token}@elsewhere.example",
        f"q-{token}@plainrun.localhost",
        f"p-{token}x@plainrun.localhost",
        f"p-{token[::-1]}@plainrun.localhost",
        "nobody",
    ):
        with pytest.raises(NotFound, match="address"):
            services.mail.resolve(recipient)


def test_who_may_send_is_anyone_the_agents_members_or_the_processes_own_list(
    services: Services, acme: Agent, process: Process
) -> None:
    address = services.mail.resolve(addresses(services, process)[Stage.PUBLISHED])
    services.mail.check_sender(address, "stranger@else.example")  # anyone, by default
    settings = services.mail.set_permissions(
        SYSTEM, process.id, mode="restricted", senders=[" AP@Acme.Example", "@partner.example"]
    )
    assert (settings.mode, settings.senders) == ("restricted", ["ap@acme.example", "@partner.example"])
    for allowed in ("ap@ACME.example", "anyone@partner.example"):
        services.mail.check_sender(address, allowed)
    with pytest.raises(SenderNotAllowed) as caught:
        services.mail.check_sender(address, "boss@acme.example")
    assert caught.value.details == [("sender", "boss@acme.example")]
    assert services.mail.set_members(SYSTEM, acme.id, ["@ACME.example"]) == ["@acme.example"]
    services.mail.set_permissions(SYSTEM, process.id, mode="members")
    services.mail.check_sender(address, "boss@acme.example")
    with pytest.raises(SenderNotAllowed):
        services.mail.check_sender(address, "anyone@partner.example")  # on the process's list only
    assert services.mail.members(SYSTEM, acme.id) == ["@acme.example"]
    with pytest.raises(InvalidInput, match="mode"):
        services.mail.set_permissions(SYSTEM, process.id, mode="everyone")
    with pytest.raises(InvalidInput, match="sender"):
        services.mail.set_permissions(SYSTEM, process.id, mode="restricted", senders=["not an address"])
    assert services.mail.settings(SYSTEM, process.id).mode == "members"


def test_a_message_starts_one_run_per_address_and_a_resend_starts_none(
    services: Services, acme: Agent, process: Process
) -> None:
    to = addresses(services, process)
    msg = message()
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="lines.csv")
    data = msg.as_bytes()
    rcpt = [to[Stage.PUBLISHED], to[Stage.DRAFT], to[Stage.PUBLISHED].upper()]
    run_ids = services.mail.receive(data, SENDER, rcpt)
    runs = [services.runs.get(SYSTEM, r) for r in run_ids]
    assert [(r.stage, r.trigger, r.trigger_ref, r.name) for r in runs] == [
        (Stage.PUBLISHED, Trigger.EMAIL, "<m1@acme.example>", "Invoice A-17"),
        (Stage.DRAFT, Trigger.EMAIL, "<m1@acme.example>", "Invoice A-17"),
    ]
    assert runs[0].file_ids == runs[1].file_ids and len(runs[0].file_ids) == 1  # stored once
    [file] = services.runs.files(SYSTEM, runs[0])
    assert (file.agent_id, file.name, file.size, file.ready) == (acme.id, "lines.csv", 8, True)
    facts = services.store.mail.facts(process_id=process.id, stage="Draft", message_id="<m1@acme.example>")
    assert facts is not None and facts["subject"] == "Invoice A-17" and facts["sender"] == SENDER
    assert facts["attachments"] == [
        {"id": file.id, "name": "lines.csv", "size": 8, "content_type": "text/csv"}
    ]
    assert services.mail.receive(data, SENDER, rcpt) == run_ids  # delivered again: the same runs
    assert len(services.runs.page(SYSTEM, agent_id=acme.id, process_id=process.id).items) == 2


def test_a_message_without_a_subject_is_named_by_its_sender(services: Services, process: Process) -> None:
    [run_id] = services.mail.receive(
        message(subject=None).as_bytes(), SENDER, [addresses(services, process)[Stage.DRAFT]]
    )
    assert services.runs.get(SYSTEM, run_id).name == f"e-mail from {SENDER}"


def test_a_message_is_refused_whole_when_it_is_too_large_unaddressed_or_from_a_stranger(
    services: Services, process: Process
) -> None:
    to = addresses(services, process)[Stage.PUBLISHED]
    with pytest.raises(TooLarge):
        services.mail.receive(b"x" * (services.mail.max_bytes + 1), SENDER, [to])
    with pytest.raises(InvalidInput, match="no recipient"):
        services.mail.receive(message().as_bytes(), SENDER, [])
    with pytest.raises(NotFound):
        services.mail.receive(
            message().as_bytes(), SENDER, [to, "p-aaaaaaaaaaaaaaaaaaaaaaaa@plainrun.localhost"]
        )
    services.mail.set_permissions(SYSTEM, process.id, mode="restricted", senders=[SENDER])
    with pytest.raises(SenderNotAllowed):
        services.mail.receive(message().as_bytes(), "boss@acme.example", [to])
    crowded = message()
    for n in range(MAX_FILES + 1):
        crowded.add_attachment(b"x", maintype="text", subtype="plain", filename=f"{n}.txt")
    with pytest.raises(TooLarge, match="attachments"):
        services.mail.receive(crowded.as_bytes(), SENDER, [to])
    assert services.runs.page(SYSTEM, agent_id=process.agent_id, process_id=process.id).items == []


def test_a_message_whose_run_is_refused_can_be_delivered_again_once_the_process_is_fixed(
    services: Services, process: Process
) -> None:
    draft = addresses(services, process)[Stage.DRAFT]
    services.store.processes.update(process.id, source="to go\n  the total is\n")
    data = message().as_bytes()
    with pytest.raises(ProcessSourceInvalid):
        services.mail.receive(data, SENDER, [draft])
    services.processes.update_draft(SYSTEM, process.id, source=SOURCE)
    [run_id] = services.mail.receive(data, SENDER, [draft])
    assert services.runs.get(SYSTEM, run_id).trigger_ref == "<m1@acme.example>"


def test_an_agents_key_sees_nothing_of_another_agents_mail(
    services: Services, acme: Agent, process: Process
) -> None:
    before = addresses(services, process)
    other = services.agents.create(SYSTEM, "other")
    outsider = agent_principal(services, other)
    for act in (
        lambda: services.mail.settings(outsider, process.id),
        lambda: services.mail.rotate(outsider, process.id, Stage.DRAFT),
        lambda: services.mail.set_permissions(outsider, process.id, mode="restricted", senders=[]),
        lambda: services.mail.members(outsider, acme.id),
        lambda: services.mail.set_members(outsider, acme.id, ["evil@else.example"]),
    ):
        with pytest.raises(NotFound):
            act()
    assert addresses(services, process) == before
    assert services.mail.settings(SYSTEM, process.id).mode == "anyone"
    assert services.mail.members(SYSTEM, acme.id) == []
