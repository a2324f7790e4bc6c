"""The e-mail parser under generated messages (hypothesis, a fixed seed): for any bytes, and for
messages built from the headers and MIME structures that break readers, ``parse`` returns a message
whose every fact can be stored, or a clear refusal; never another exception."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plainrun.domain.files import clean_content_type
from plainrun.domain.mail import MAX_MESSAGE_ID, Refused, check_automatic, parse
from plainrun.domain.storable import problem
from plainrun.errors import TooLarge

NAMES = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
    "Content-Disposition",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "Auto-Submitted",
    "X-Plainrun-Hops",
]
TRICKY = [
    "=?utf-8?q?caf=C3=A9?= <a@b.example>",
    "=?x-unknown?b?AAAA?=",
    "=?utf-8?b?////?=",
    '"J\u00f6rg" <j\u00f6rg@ex\u00e4mple.de>',
    "<>",
    "undisclosed-recipients:;",
    "a@b.example, (comment) <c@d.example>, @",
    "multipart/mixed; boundary=b",
    "multipart/alternative; boundary=b",
    "multipart/report; report-type=delivery-status; boundary=b",
    "message/rfc822",
    "text/plain; charset=x-unknown",
    "text/html; charset=utf-16",
    "text/plain; charset=\u00fctf-8",
    "application/x-f\u00fcr",
    "text/",
    "/",
    "attachment; filename*=utf-8''%FF%FE",
    'attachment; filename="../../etc/passwd"',
    "attachment; filename*0=a; filename*1=b",
    "base64",
    "quoted-printable",
    "8bit",
    "x-uuencode",
    "auto-generated",
    "no",
    "99999999999999999999999",
    "-1",
    "Tue, 31 Feb 2024 25:61:61 +9999",
    "Mon, 1 Jan 0001 00:00:00 -2359",
    "<" + "x" * 400 + "@long.example>",
]
VALUES = st.one_of(st.sampled_from(TRICKY), st.text(max_size=60))
ENCODINGS = st.sampled_from(["utf-8", "latin-1"])
BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"AAEC", b"=C3=A9=\r\n=ZZ", b"////", b"begin 644 x\n`\nend\n", b"\x00\xff\xfe"]),
)


@st.composite
def header_block(draw: st.DrawFn) -> bytes:
    lines = []
    for name, value in draw(st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8)):
        encoded = value.encode(draw(ENCODINGS), "replace")
        lines.append(name.encode() + b": " + encoded.replace(b"\n", b"\n "))
    return b"\r\n".join(lines) + b"\r\n\r\n"


MULTIPART = st.sampled_from(
    [
        b"multipart/mixed; boundary=b",
        b'multipart/mixed; boundary="b"',
        b"multipart/alternative; boundary=b",
        b"multipart/related; boundary=b",
        b"multipart/report; report-type=delivery-status; boundary=b",
        b"multipart/mixed",
    ]
)


@st.composite
def part(draw: st.DrawFn) -> bytes:
    """A MIME part: often an attachment, with a generated name, type and transfer encoding."""
    lines = []
    if draw(st.booleans()):
        name = draw(VALUES).encode(draw(ENCODINGS), "replace").replace(b"\n", b" ")
        lines.append(b'Content-Disposition: attachment; filename="' + name + b'"')
    if draw(st.booleans()):
        lines.append(b"Content-Type: " + draw(VALUES).encode(draw(ENCODINGS), "replace").replace(b"\n", b" "))
    head = b"".join(line + b"\r\n" for line in lines)
    return b"--b\r\n" + head + draw(header_block()) + draw(BODIES) + b"\r\n"


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    head = draw(header_block())
    if not draw(st.booleans()):
        return head + draw(BODIES)
    head = b"MIME-Version: 1.0\r\nContent-Type: " + draw(MULTIPART) + b"\r\n" + head
    parts = [draw(part()) for _ in range(draw(st.integers(0, 4)))]
    closing = b"--b--\r\n" if draw(st.booleans()) else b""
    return head + b"".join(parts) + closing


def assert_parsed_or_refused(data: bytes, envelope: str) -> None:
    try:
        email = parse(data, envelope_sender=envelope, max_text_chars=1000)
        check_automatic(email, max_hops=5)
    except (Refused, TooLarge) as refusal:
        assert refusal.message and refusal.message.isprintable()
        return
    facts = email.facts([])
    assert problem(facts) is None, facts  # every database keeps it
    orjson.dumps(facts)
    assert 0 < len(email.message_id) <= MAX_MESSAGE_ID
    assert email.sender in (email.from_address, email.envelope_sender)
    for attachment in email.attachments:
        assert clean_content_type(attachment.content_type) == attachment.content_type
        assert attachment.content_type.isascii() and problem(attachment.name) is None and attachment.name


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(messages(), st.sampled_from(["ap@acme.example", "", "j\u00f6rg@ex\u00e4mple.de", "\udcff@x"]))
def test_a_generated_message_is_parsed_or_refused_never_an_exception(data: bytes, envelope: str) -> None:
    assert_parsed_or_refused(data, envelope)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=600))
def test_any_bytes_are_parsed_or_refused_never_an_exception(data: bytes) -> None:
    assert_parsed_or_refused(data, "ap@acme.example")
