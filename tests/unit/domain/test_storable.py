"""The one JSON codec: whole numbers exact at any size the store keeps, floats of their kind."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plainrun.domain import storable

VALUES = [
    2**64,
    -(2**63) - 1,
    10**3999 - 1,
    123,
    -0.5,
    0.1,
    1e300,
    1e-300,
    "12345678901234567890",
    None,
    True,
]


def test_values_round_trip_exactly_and_keep_their_kind() -> None:
    value = {"list": VALUES, "nested": {"n": 2**100}}
    for text in (storable.dumps(value), storable.dumps_decimal_text(value)):
        back = storable.loads(text)
        assert back == value
        assert [type(v) for v in back["list"]] == [type(v) for v in VALUES]


def test_floats_with_a_positive_exponent_are_spelled_out_for_decimal_json() -> None:
    text = storable.dumps_decimal_text([1e20, -1.5e17, 2.5, "a 3e5 text"])
    assert text == '[100000000000000000000.0,-150000000000000000.0,2.5,"a 3e5 text"]'
    assert storable.dumps_decimal_text({"a": 1}) == '{"a":1}'


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (math.nan, "NaN"),
        (math.inf, "finite"),
        (10**4000, "4000 digits"),
        ("a\x00b", "NUL"),
        ("\ud800", "Unicode"),
    ],
)
def test_what_cannot_be_kept_says_why(value: object, why: str) -> None:
    found = storable.problem({"v": [value]})
    assert found is not None and why in found
    assert storable.problem({"v": [2**100, 1.5, "text"]}) is None


# --- JSON text a client sends: every number as written, or refused ------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("3.14159265358979323846264338", "would become 3.141592653589793"),
        ("0.1000000000000000000001", "would become 0.1"),
        ("12345678.123456789", "would become 12345678.12345679"),
        ("-123456789012345678901234567890.5", "would become -1.2345678901234568e+29"),
        ("1e-400", "would become 0.0"),
        ("1e-330", "would become 0.0"),
        ("1e-99999999999999999999999", "would become 0.0"),
        ("1e400", "finite"),
        ("-1E999999999999999999999", "finite"),
        ("NaN", "NaN"),
        ("-Infinity", "finite"),
        ("1" * 4001, "4000 digits"),
        ("-" + "1" * 5000, "4000 digits"),  # beyond what Python reads as a whole number, too
    ],
)
def test_a_number_a_client_sends_that_cannot_be_kept_as_written_is_refused_saying_why(
    text: str, why: str
) -> None:
    body = b'{"inputs": [{"name": "x", "value": ' + text.encode() + b'}], "agent_id": "01JD5E3F9"}'
    assert storable.may_lose(body)
    with pytest.raises(storable.Unstorable) as refused:
        storable.read_json(body)
    assert why in str(refused.value)
    assert "would become" not in why or f": {text} would become" in str(refused.value)


@pytest.mark.parametrize(
    "text",
    ["0.1", "-2.5", "1.5e3", "1E-300", "-0.0", "12345678.12345679", "1e20", "100000000000000000000.0",
     "1.7976931348623157e308", "5e-324", str(2**64), str(-(10**3999) + 1), "0.000000000000001"],
)  # fmt: skip
def test_numbers_a_double_or_a_whole_number_holds_are_read_as_they_are(text: str) -> None:
    body = b'{"v": [' + text.encode() + b', "3.14159265358979323846264338"]}'
    assert storable.read_json(body) == json.loads(body)
    assert type(storable.read_json(body)["v"][0]) is type(json.loads(body)["v"][0])


def test_a_body_without_a_suspect_number_is_not_searched_twice() -> None:
    body = b'{"name": "A-17", "process_id": "01JD5E3F9XYZ", "inputs": {"amount": 9500.25, "n": 3}}'
    assert not storable.may_lose(body)
    assert storable.read_json(body) == json.loads(body)
    # text in strings that looks like a number costs only the careful reading
    assert storable.may_lose(b'{"note": "ratio:1e5"}') and storable.read_json(b'{"note": "ratio:1e5"}')


@settings(max_examples=400, deadline=None)
@given(st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20"), allow_nan=False))
def test_a_number_the_search_passes_by_is_one_a_double_holds(number: Decimal) -> None:
    """The fast check is sound: a JSON number it does not flag is read exactly by any parser, and
    one with a fraction is kept exactly when its double is, else refused."""
    text = format(number, "f")
    body = b'{"v": ' + text.encode() + b"}"
    if "." not in text:
        assert storable.read_json(body) == {"v": int(text)}
        return
    value = float(text)
    exact = Decimal(repr(value)) == Decimal(text)
    if not storable.may_lose(body):
        assert exact, text
    if exact:
        assert storable.read_json(body) == {"v": value}
    else:
        with pytest.raises(storable.Unstorable):
            storable.read_json(body)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=' \t\n:,[]{}"-0123456789.eENIax', max_size=60))
def test_the_quick_look_misses_nothing_the_search_finds(text: str) -> None:
    raw = text.encode()
    if storable._MAY_LOSE.search(raw) is not None:
        assert storable.may_lose(raw)
    assert storable.may_lose(b"3.14159265358979323846264338") and storable.may_lose(b" NaN")


_LEAVES = (
    st.text(max_size=8)
    | st.sampled_from(["a\x00b", "\ud800", "\udfff", "한", "\x7f"])
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([10**4000, -(10**4000), 10**3999])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans(), st.integers(min_value=0, max_value=70))
def test_json_text_passed_as_plain_holds_nothing_the_walk_refuses(
    value: object, ascii: bool, depth: int
) -> None:
    """``plain_json`` lets a body skip the walk of its values: what it passes, the walk (and the
    careful reading) would have passed too, however the text is written and however deep."""
    for _ in range(depth):
        value = [value]
    try:
        raw = json.dumps(value, ensure_ascii=ascii, allow_nan=True).encode("utf-8", "surrogatepass")
    except ValueError:  # a whole number beyond what Python writes
        return
    if storable.plain_json(raw):
        assert not storable.may_lose(raw)
        assert storable.problem(json.loads(raw)) is None


def test_bodies_of_plain_text_and_numbers_are_plain() -> None:
    assert storable.plain_json(
        b'{"process_id": "p1", "inputs": [{"name": "x", "value": 12.5}], "a": "\xc3\xa9"}'
    )
    for raw in (b'{"v": "a\\u0000b"}', b'{"v": NaN}', b'{"v": 1e400}', b"[" * 65 + b"]" * 65):
        assert not storable.plain_json(raw)
