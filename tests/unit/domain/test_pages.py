"""Signed page tokens: a token holds its page's last key and the query it was issued for."""

from __future__ import annotations

import base64

import orjson
import pytest

from plainrun.domain.pages import Pager, Signer
from plainrun.errors import InvalidToken

SECRET = b"s" * 32
QUERY = {"p": "process-1", "a": "agent-1", "st": ["Failed", "Succeeded"], "ar": False}
ROWS = [f"row{n:02d}" for n in range(30, 0, -1)]  # newest first


def _token(pager: Pager = Pager(SECRET, "runs"), query: dict[str, object] = QUERY) -> str:
    token = pager.page(ROWS[:11], 10, query, key=str).continuation_token
    assert token is not None
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_pages_walk_the_whole_list_once_and_the_last_page_has_no_token() -> None:
    pager = Pager(SECRET, "runs")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        before = pager.position(token, QUERY)
        rows = [r for r in ROWS if before is None or r < before][:8]  # limit + 1 read, as a store does
        page = pager.page(rows, 7, QUERY, key=str)
        seen += page.items
        pages += 1
        token = page.continuation_token
        if token is None:
            break
        assert before is None or page.items[0] < before
    assert seen == ROWS and pages == 5  # 7 + 7 + 7 + 7 + 2


@pytest.mark.parametrize(("read", "limit", "has_next"), [(11, 10, True), (10, 10, False), (3, 10, False)])
def test_a_page_has_a_token_only_when_a_row_beyond_it_was_read(read: int, limit: int, has_next: bool) -> None:
    pager = Pager(SECRET, "runs")
    page = pager.page(ROWS[:read], limit, QUERY, key=str)
    assert page.items == ROWS[: min(read, limit)]
    assert (page.continuation_token is not None) == has_next
    if has_next:
        assert pager.position(page.continuation_token, QUERY) == ROWS[limit - 1]


def test_no_token_is_the_first_page() -> None:
    assert Pager(SECRET, "runs").position(None, QUERY) is None


@pytest.mark.parametrize(
    "other",
    [
        {**QUERY, "p": "process-2"},
        {**QUERY, "st": ["Failed"]},
        {**QUERY, "ar": True},
        {k: v for k, v in QUERY.items() if k != "st"},
        {**QUERY, "tr": ["api"]},
    ],
    ids=["another-process", "another-states-filter", "archived", "a-key-less", "a-key-more"],
)
def test_a_token_is_refused_for_any_other_query(other: dict[str, object]) -> None:
    pager = Pager(SECRET, "runs")
    with pytest.raises(InvalidToken, match="another query"):
        pager.position(_token(pager), other)


def test_a_token_of_another_secret_or_another_kind_of_list_is_not_valid() -> None:
    token = _token(Pager(b"t" * 32, "runs"))
    with pytest.raises(InvalidToken, match="not valid"):
        Pager(SECRET, "runs").position(token, QUERY)
    with pytest.raises(InvalidToken, match="not valid"):
        Pager(SECRET, "processes").position(_token(Pager(SECRET, "runs")), QUERY)


def _tampered() -> list[object]:
    token = _token()
    body, mac = token.split(".")
    payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged_body = _b64(orjson.dumps({**payload, "k": "row99"}, option=orjson.OPT_SORT_KEYS))
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    return [
        f"{forged_body}.{mac}",  # another position under the old signature
        f"{body}.{flipped}",
        token[:-1],
        token[:20],
        body,
        f"{body}.{mac}.{mac}",
        f"{body}.",
        "",
        token[:-1] + "é",
        token + "A" * 2048,
        "." * 3,
        12345,  # not even text
    ]


@pytest.mark.parametrize("token", _tampered())
def test_a_forged_tampered_truncated_non_ascii_or_overlong_token_is_invalid(token: object) -> None:
    with pytest.raises(InvalidToken, match="not valid"):
        Pager(SECRET, "runs").position(token, QUERY)  # type: ignore[arg-type]


def test_a_signed_payload_round_trips_and_its_expiry_is_checked() -> None:
    signer = Signer(SECRET, "file-upload")
    lasting = signer.sign({"f": "file-1"}, ttl_s=60)
    assert signer.unsign(lasting) == {"f": "file-1"}  # the expiry is not part of the payload
    assert signer.unsign(signer.sign({"f": "file-1"})) == {"f": "file-1"}  # no ttl: never expires
    expired = signer.sign({"f": "file-1"}, ttl_s=-1)
    with pytest.raises(InvalidToken, match="expired"):
        signer.unsign(expired)
    with pytest.raises(InvalidToken, match="not valid"):
        Signer(SECRET, "another-purpose").unsign(lasting)
