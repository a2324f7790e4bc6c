"""The grammar of names: business names hold grammar words, and ordinals, ``of`` and ``as`` still
work where they are meant; a phrase with two readings is settled by the file or by the run's facts,
and shown with both readings when both are there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from plainrun.language import Outcome, Paused, ProcessSyntaxError, Succeeded, parse
from plainrun.language import nodes as n

Run = Callable[..., Outcome]

ORDER = """\
to prepare an order
  the last name is the customer's last name
  the first name is the customer's first name
  the as of date is 2026-11-01
  the days to pay is 30
  the ship to address is the customer's "ship to address"
  the amount in dollars is the sum of the lines' amounts
  the total with tax is the amount in dollars * (1 + the tax rate)
  the terms and conditions are "accepted"
  the price plus tax is the total with tax
  use the last name as the order name
  set the days to pay to the days to pay + 15
  add 5 to the days to pay
  the due date is the as of date + the days to pay
  process each line item in the lines as follows
    say "{the line item's sku} x {the line item's quantity}"
  say the first line's sku
  say the last line's sku
  say the number of lines
  say the tax of the customer
  the output order name is the order name
  the output greeting is "Dear {the first name} {the last name}"
  the output due date is the due date
  the output total with tax is the price plus tax
  the output terms and conditions is the terms and conditions
  the output ship to address is the ship to address
"""

CUSTOMER = {
    "first name": "Ann",
    "last name": "Lee",
    "ship to address": "1 Main St",
    "tax": "exempt",
}
LINES = [{"sku": "A-1", "quantity": 2, "amount": "10.00"}, {"sku": "B-7", "quantity": 1, "amount": 30}]


def test_an_order_written_with_business_names_runs_as_its_author_expects(run: Run) -> None:
    outcome = run(ORDER, {"customer": CUSTOMER, "lines": LINES, "tax rate": "20%"})
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == ["A-1 x 2", "B-7 x 1", "A-1", "B-7", "2", "exempt"]
    assert outcome.outputs == [
        {"name": "order name", "value": "Lee"},
        {"name": "greeting", "value": "Dear Ann Lee"},
        {"name": "due date", "value": "2026-12-21"},
        {"name": "total with tax", "value": 48},
        {"name": "terms and conditions", "value": "accepted"},
        {"name": "ship to address", "value": "1 Main St"},
    ]
    assert parse(ORDER).inputs == ["customer", "lines", "tax rate"]


@pytest.mark.parametrize(
    ("body", "inputs", "log"),
    [
        # operator words are grammar only before a value
        ("the profit or loss is 5\nsay the profit or loss + 1", {}, ["6"]),
        ("say the delivery times", {"delivery times": "2 days"}, ["2 days"]),
        ("say the price plus tax\nsay the price plus 1", {"price plus tax": 12, "price": 10}, ["12", "11"]),
        ("say the contains nuts flag", {"contains nuts flag": True}, ["true"]),
        ("say the days not worked", {"days not worked": 2}, ["2"]),
        # of before a plain word stays in the name; before an article it reads a field
        (
            "say the date of birth\nsay the tax of the invoice",
            {"date of birth": "1990", "invoice": {"tax": 3}},
            ["1990", "3"],
        ),
        # ordinals and aggregates that are names
        ("say the first name\nsay the last name", {"first name": "Ann", "last name": "Lee"}, ["Ann", "Lee"]),
        ("say the first name\nsay the last name", {"names": ["a", "b", "c"]}, ["a", "c"]),
        ("say the number of team members", {"team members": ["a", "b"]}, ["2"]),
        ("say the number of team members", {"number of team members": 7}, ["7"]),
        ("say the total of the invoice", {"invoice": {"total": 9}}, ["9"]),
        ("say the first line of the invoice", {"invoice": {"lines": ["x", "y"]}}, ["x"]),
        ("say the invoice's first line", {"invoice": {"first line": "head", "lines": ["x"]}}, ["head"]),
        ("say the document's first address", {"document": {"addresses": ["1 Main", "2 High"]}}, ["1 Main"]),
        ('say the 2nd word of "to be"\nsay the last of the names', {"names": ["a", "b"]}, ["be", "b"]),
        # separators inside names: the split that leaves complete parts wins
        ('the ship to address is "x"\nset the address to the ship to address\nsay the address', {}, ["x"]),
        (
            "the as of date is 2026-01-01\nuse the as of date as the report date\nsay the report date",
            {},
            ["2026-01-01"],
        ),
        (
            "the amount in dollars is 5\nsubtract 2 from the amount in dollars\nsay the amount in dollars",
            {},
            ["3"],
        ),
        (
            "process each amount in dollars as follows\n  say the amount in dollars",
            {"amounts in dollars": [1, 2]},
            ["1", "2"],
        ),
        # quotes and underscores write around the grammar
        ('the "is active" is true\nsay the is_active\nsay the "is active"', {}, ["true", "true"]),
        ('the "days to the deadline" is 4\nsay the days to the deadline', {}, ["4"]),
        ("say the a + the b", {"a": 1, "b": 2}, ["3"]),
    ],
)
def test_names_hold_the_words_of_business_data(
    run: Run, body: str, inputs: dict[str, Any], log: list[str]
) -> None:
    outcome = run("to go\n" + "".join(f"  {line}\n" for line in body.splitlines()), inputs)
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == log


def test_a_file_that_defines_both_readings_is_refused_with_each_and_how_to_write_it() -> None:
    with pytest.raises(ProcessSyntaxError) as caught:
        parse('to go\n  the first name is "Ann"\n  the names are "a", "b"\n  say the first name\n')
    [issue] = caught.value.errors
    assert (issue.line, issue.column) == (4, 7)
    assert issue.message == (
        '"the first name" has two readings: the fact "first name" (line 2) or the first of the names'
        ' (line 3); write the "first name" for the fact, or the first of the names for the item'
    )


def test_facts_that_hold_both_readings_at_run_time_are_an_exception_that_shows_each(run: Run) -> None:
    outcome = run("to go\n  say the last name\n", {"last name": "Lee", "names": ["a"]})
    assert isinstance(outcome, Paused) and (outcome.line, outcome.column) == (2, 7)
    assert outcome.facts == ["last name", "names"]
    assert 'write the "last name" for the fact, or the last of the names for the item' in outcome.question


def test_the_file_settles_a_phrase_and_the_inputs_name_the_reading_it_reads() -> None:
    assert parse("to go\n  say the first name\n").inputs == ["first name"]
    assert parse('to go\n  the list is "a", "b"\n  say the 1st list\n').inputs == []
    assert parse("to go\n  say the first row\n  say the number of the rows\n").inputs == ["rows"]
    listed = parse('to go\n  the names are "a", "b"\n  say the first name\n')
    assert listed.inputs == []
    [say] = listed.process.body[1:]
    assert isinstance(say, n.Say) and isinstance(say.value, n.Ordinal) and say.value.alias is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "the is active is true",
            'expected the name of a fact before "is"; "is" is read as the verb of the line: if "is active"'
            ' is the name, write it in quotes (the "is active")',
        ),
        (
            "say the price and",
            'expected a value at the end of the line; "and" was read as grammar here: if "price and" is one'
            ' name, write it in quotes (the "price and") or with underscores (the price_and)',
        ),
        ("say the whose turn", 'expected a name after "the", but "whose" is grammar here'),
        ("the vendor is Acme", 'expected a value, found "Acme": write "Acme" in quotes for a text'),
    ],
)
def test_a_word_read_as_grammar_is_named_with_how_to_write_around_it(line: str, message: str) -> None:
    with pytest.raises(ProcessSyntaxError) as caught:
        parse(f"to go\n  {line}\n")
    [issue] = caught.value.errors
    assert issue.line == 2 and issue.message.startswith(message), issue.message
