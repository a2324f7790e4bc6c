"""The one JSON codec: whole numbers exact at any size the store keeps, floats of their kind."""

from __future__ import annotations

import math

import pytest

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
