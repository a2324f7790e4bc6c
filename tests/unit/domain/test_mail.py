"""E-mail: who may send (addresses and domains, any case), and a raw message as the facts a run reads."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from plainrun.domain.mail import (
    MAX_MESSAGE_ID,
    MAX_SENDERS,
    AutoSubmitted,
    MailLoop,
    check_automatic,
    html_to_text,
    new_token,
    normalize_senders,
    parse,
    sender_matches,
)
from plainrun.domain.storable import problem
from plainrun.errors import InvalidInput, TooLarge


def message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Accounts Payable <ap@acme.example>")
    msg["To"] = headers.pop("To", "Invoices <p-abc@plainrun.localhost>, b@acme.example")
    msg["Subject"] = headers.pop("Subject", "Invoice A-17")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_sender_entries_are_lowercased_trimmed_and_kept_once_in_order() -> None:
    entries = normalize_senders([" AP@Acme.Example ", "@Partner.Example", "ap@acme.example", "x@y.example"])
    assert entries == ["ap@acme.example", "@partner.example", "x@y.example"]


@pytest.mark.parametrize(
    "entry", ["acme.example", "a@b@c.example", "a b@c.example", "<a@c.example>", "@", "@-acme.example", "", 5]
)
def test_a_sender_entry_is_an_address_or_a_domain(entry: object) -> None:
    with pytest.raises(InvalidInput, match="@domain"):
        normalize_senders([entry])  # type: ignore[list-item]


def test_a_sender_list_is_bounded() -> None:
    with pytest.raises(InvalidInput, match=str(MAX_SENDERS)):
        normalize_senders([f"u{i}@acme.example" for i in range(MAX_SENDERS + 1)])
    assert len(normalize_senders([f"u{i}@acme.example" for i in range(MAX_SENDERS)])) == MAX_SENDERS
    with pytest.raises(InvalidInput):
        normalize_senders(["a" * 250 + "@b.example"])


def test_a_sender_matches_its_address_or_its_whole_domain_in_any_case() -> None:
    entries = normalize_senders(["ap@acme.example", "@partner.example"])
    assert sender_matches("AP@ACME.example", entries)
    assert sender_matches(" ap@acme.example ", entries)
    assert sender_matches("Anyone@Partner.Example", entries)
    assert not sender_matches("boss@acme.example", entries)  # an address entry is that address only
    assert not sender_matches("x@sub.partner.example", entries)  # a domain is not its subdomains
    assert not sender_matches("x@partner.example.evil", entries)
    assert not sender_matches("partner.example", entries)
    assert not sender_matches("", entries)


def test_a_message_becomes_its_facts_with_every_recipient_and_the_date_in_utc() -> None:
    msg = message(Cc="Boss <boss@acme.example>", Date="Tue, 04 Jun 2024 10:30:00 +0200")
    msg["Message-ID"] = "<m1@acme.example>"
    msg.set_content("Please pay.\r\nThank you.\n")
    email = parse(msg.as_bytes().replace(b"\n", b"\r\n"), envelope_sender="bounce@acme.example")
    assert email.facts([{"id": "f1", "name": "a.pdf", "size": 3, "content_type": "application/pdf"}]) == {
        "subject": "Invoice A-17",
        "sender": "ap@acme.example",  # the From header's address, not the envelope
        "envelope sender": "bounce@acme.example",
        "to": "p-abc@plainrun.localhost, b@acme.example",
        "recipients": ["p-abc@plainrun.localhost", "b@acme.example", "boss@acme.example"],
        "date": "2024-06-04T08:30:00+00:00",
        "body": "Please pay.\nThank you.\n",  # SMTP's CRLF lines are plain lines
        "html body": "",
        "attachments": [{"id": "f1", "name": "a.pdf", "size": 3, "content_type": "application/pdf"}],
        "message id": "<m1@acme.example>",
        "hops": 0,
    }


def test_without_a_from_header_the_envelope_sender_is_the_sender() -> None:
    msg = EmailMessage()
    msg["To"] = "p-abc@plainrun.localhost"
    msg.set_content("hi")
    email = parse(msg.as_bytes(), envelope_sender="ap@acme.example")
    assert (email.sender, email.subject, email.date) == ("ap@acme.example", "", None)


def test_a_date_without_a_zone_is_taken_as_utc() -> None:
    email = parse(message(Date="Tue, 04 Jun 2024 10:30:00 -0000").as_bytes())
    assert email.date == datetime(2024, 6, 4, 10, 30, tzinfo=UTC)


def test_a_message_without_a_message_id_is_named_by_the_hash_of_its_bytes() -> None:
    data = message().as_bytes()
    email = parse(data)
    assert email.message_id == f"<{hashlib.sha256(data).hexdigest()}@plainrun.invalid>"
    assert parse(data).message_id == email.message_id  # a resend of the same bytes is the same message
    assert parse(data + b"\n").message_id != email.message_id


def test_an_over_long_message_id_is_replaced_by_its_hash_and_one_at_the_bound_is_kept() -> None:
    at_bound = "<" + "a" * (MAX_MESSAGE_ID - 2 - len("@acme.example")) + "@acme.example>"
    assert len(at_bound) == MAX_MESSAGE_ID
    assert parse(message(Message_ID=at_bound).as_bytes()).message_id == at_bound
    long_id = "<" + "b" * MAX_MESSAGE_ID + "@acme.example>"
    hashed = parse(message(Message_ID=long_id).as_bytes()).message_id
    assert hashed == f"<{hashlib.sha256(long_id.encode()).hexdigest()}@plainrun.hashed>"
    assert len(hashed) <= MAX_MESSAGE_ID


def test_a_folded_message_id_and_subject_are_one_line() -> None:
    data = b"From: a@acme.example\nSubject: Invoice\n  A-17\nMessage-ID:\n <m2@acme.example>\n\nhi\n"
    email = parse(data)
    assert (email.message_id, email.subject) == ("<m2@acme.example>", "Invoice A-17")


def test_an_html_only_message_reads_as_its_text_without_scripts_styles_or_entities() -> None:
    markup = (
        "<html><head><style>p { color: red }</style><script>alert('x')</script></head>"
        "<body><p>Total:&nbsp;<b>120&euro;</b></p>\n\n<p>Due   &lt;soon&gt;</p></body></html>"
    )
    msg = message()
    msg.set_content(markup, subtype="html")
    email = parse(msg.as_bytes())
    assert email.text == "Total: 120€\nDue <soon>"  # a no-break space is a space
    assert email.html.strip() == markup
    assert html_to_text(markup) == email.text


def test_a_plain_part_is_preferred_to_the_html_one() -> None:
    msg = message()
    msg.set_content("plain words")
    msg.add_alternative("<p>html words</p>", subtype="html")
    email = parse(msg.as_bytes())
    assert (email.text, email.html.strip()) == ("plain words\n", "<p>html words</p>")


def test_attachments_keep_their_bytes_and_a_nameless_one_is_named_by_its_place_and_type() -> None:
    msg = message()
    msg.set_content("see attached")
    msg.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv")
    email = parse(msg.as_bytes())
    assert [(a.name, a.content_type, a.data) for a in email.attachments] == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4 data"),
        ("attachment-2.csv", "text/csv", b"a,b\n1,2\n"),
    ]


def test_a_body_in_an_unknown_charset_is_read_as_well_as_it_goes() -> None:
    data = (
        b"From: a@acme.example\nSubject: x\nContent-Type: text/plain; charset=x-unknown\n"
        b"Content-Transfer-Encoding: 8bit\n\nsch\xc3\xb6n \xff\n"
    )
    assert parse(data).text == "schön \ufffd\n"


def test_an_address_token_is_24_characters_safe_in_a_local_part_and_new_each_time() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(re.fullmatch(r"[a-z2-7]{24}", t) for t in tokens)


def test_a_sender_entry_may_name_an_internationalised_address_or_domain() -> None:
    assert normalize_senders(["Jörg@Exämple.de", "@BÜRO.example"]) == ["jörg@exämple.de", "@büro.example"]
    assert sender_matches("JÖRG@exämple.DE", ["jörg@exämple.de"])
    assert sender_matches("anna@büro.example", ["@büro.example"])
    with pytest.raises(InvalidInput):
        normalize_senders(["@_büro.example"])


def test_the_sender_is_the_from_header_and_agrees_only_when_it_names_the_envelope() -> None:
    email = parse(message(From="Boss <Boss@Acme.example>").as_bytes(), envelope_sender="<boss@acme.example>")
    assert (email.sender, email.envelope_sender, email.agrees) == (
        "Boss@Acme.example",
        "boss@acme.example",
        True,
    )
    forged = parse(message(From="ceo@acme.example").as_bytes(), envelope_sender="boss@acme.example")
    assert (forged.sender, forged.agrees) == ("ceo@acme.example", False)
    bare = parse(b"Subject: x\n\nhi\n", envelope_sender="boss@acme.example")
    assert (bare.sender, bare.agrees) == ("boss@acme.example", True)


@pytest.mark.parametrize(
    ("headers", "envelope", "refusal"),
    [
        ({"Auto_Submitted": "auto-generated"}, "a@acme.example", AutoSubmitted),
        ({"Auto_Submitted": "Auto-Replied; owner=x"}, "a@acme.example", AutoSubmitted),
        ({}, "<>", AutoSubmitted),  # the null sender of a delivery report
        ({"Content_Type": "multipart/report; report-type=delivery-status"}, "a@acme.example", AutoSubmitted),
        ({"X_Plainrun_Hops": "5"}, "a@acme.example", MailLoop),
        ({"X_Plainrun_Hops": " 12 "}, "a@acme.example", MailLoop),
    ],
)
def test_automatic_mail_and_mail_loops_are_refused(
    headers: dict[str, str], envelope: str, refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        check_automatic(parse(message(**headers).as_bytes(), envelope_sender=envelope), max_hops=5)


def test_a_persons_mail_within_the_hop_bound_passes_and_keeps_its_hops() -> None:
    email = parse(
        message(Auto_Submitted="no", X_Plainrun_Hops="4").as_bytes(), envelope_sender="a@acme.example"
    )
    check_automatic(email, max_hops=5)
    assert email.facts([])["hops"] == 4
    assert parse(message(X_Plainrun_Hops="many").as_bytes()).hops == 0


def test_utf8_headers_are_read_as_utf8_and_every_text_is_storable() -> None:
    data = "From: Jörg <jörg@exämple.de>\nSubject: März\x00\nMessage-ID: <ü@x>\n\nhallo \udcff\n".encode(
        "utf-8", "surrogateescape"
    )
    email = parse(data + b"\xff\n")
    assert (email.sender, email.subject, email.message_id) == ("jörg@exämple.de", "März", "<ü@x>")
    assert problem(email.facts([])) is None


def test_a_body_longer_than_the_bound_is_refused_and_one_at_it_is_kept() -> None:
    msg = message()
    msg.set_content("x" * 50)
    with pytest.raises(TooLarge, match="49 characters"):
        parse(msg.as_bytes(), max_text_chars=49)
    assert parse(msg.as_bytes(), max_text_chars=51).text == "x" * 50 + "\n"
