"""Values round-trip through JSON exactly; numbers read as people write them; the public API."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

import plainrun.language
from plainrun.language.values import (
    NOT_FOUND,
    Duration,
    FileRef,
    Money,
    Percent,
    from_json,
    output_value,
    parse_number,
    to_json,
)

VALUES = [
    "text",
    7,
    Decimal("1000.50"),
    True,
    Money(Decimal("120.20"), "$"),
    dt.date(2026, 11, 23),
    dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC),
    Duration(5, "days"),
    FileRef("f1", "a.pdf", 10, "application/pdf"),
    NOT_FOUND,
    [1, "a", [Decimal("0.1")]],
    {"name": "Ann", "$t": "not a tag", "rows": [{"amount": Decimal("2.5")}]},
    [{"$t": "table", "v": "a"}, {"$t": "record", "v": "b"}],  # a table of text, as a CSV file gives
    10**25,
    Percent(Decimal("2.5")),
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_value_round_trips_through_json_text(value: object) -> None:
    assert from_json(json.loads(json.dumps(to_json(value)))) == value


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1,000.50", Decimal("1000.50")),
        ("$120.20", Money(Decimal("120.20"), "$")),
        (" -3 ", -3),
        ("12€", Money(Decimal(12), "€")),
        ("1,00", None),
        ("abc", None),
        ("", None),
    ],
)
def test_numbers_are_read_as_written(text: str, number: object) -> None:
    assert parse_number(text) == number


def test_outputs_are_text_int_or_float() -> None:
    rendered = [output_value(v) for v in VALUES]
    assert all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in rendered)
    assert rendered[2] == 1000.5 and rendered[4] == 120.2 and rendered[8] == "f1"


def test_the_public_api_is_exactly_the_curated_list() -> None:
    exported = {name for name in dir(plainrun.language) if not name.startswith("_")}
    modules = {name for name in exported if type(getattr(plainrun.language, name)).__name__ == "module"}
    assert exported - modules == set(plainrun.language.__all__)
    for name in (
        "parse",
        "ProcessSyntaxError",
        "Program",
        "Execution",
        "Environment",
        "LocalEnvironment",
        "Outcome",
        "Succeeded",
        "Paused",
        "Failed",
        "Guidance",
        "Limits",
        "procedure",
    ):
        assert name in plainrun.language.__all__
