"""Errors that explain: every run-time error names its line, its column and the facts involved,
and no text of a Python exception reaches the person who reads it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from plainrun.language import Library, Outcome, Paused, parse, procedure
from plainrun.language.books import default_library

Run = Callable[..., Outcome]

#: What Python's and libraries' own messages look like.
PYTHON_TEXT = re.compile(
    r"Traceback|Error\b|object has no attribute|unsupported operand|can't compare|NoneType|invalid literal"
    r"|\[<class|decimal\.|positional argument|Exceeds the limit|64-bit|out of range|does not match format"
    r"|Expecting value|unterminated|not subscriptable|'\w+' object"
)


@pytest.mark.parametrize(
    ("body", "inputs", "column", "question"),
    [
        (
            "say the huge * the huge",
            {"huge": 10**2500},
            16,
            "the result has more than 4000 digits: larger than the language's numbers go (10^4000)",
        ),
        (
            "the big is the huge + 1",
            {"huge": 10**4000 - 1},
            23,
            "the result has more than 4000 digits: larger than the language's numbers go (10^4000)",
        ),
        (
            "say the half * the huge",
            {"half": 1.5, "huge": 10**4000 - 1},
            16,
            "the result has more than 4000 digits",
        ),
        (
            "parse the body as json",
            {"body": "[-Infinity]"},
            3,
            "parse a (text) as json: the number -inf is not finite",
        ),
        (
            "say 9999-12-31 + 1",
            {},
            18,
            "9999-12-31 moved by 1 days falls outside the calendar (years 1 to 9999)",
        ),
        ("say 10 / the count", {"count": 0}, 10, "cannot divide by zero (the count is 0)"),
        (
            "say now > the deadline",
            {"deadline": "someday"},
            11,
            'cannot compare a date-time (2026-11-23T09:30:00+00:00) with text ("someday")',
        ),
        (
            "the name's first is 5",
            {"name": "Ann"},
            3,
            'cannot set the first of Ann: it is not a record (the name is "Ann")',
        ),
        ("say the 5th word of the note", {"note": "a b"}, 7, "there is no 5th word in note (it has 2)"),
        (
            'parse the day as a date where\n    the format is "DD/MM/YYYY"',
            {"day": "31/02/2026"},
            3,
            'parse a (text) as a date: "31/02/2026" is not a date in the format "DD/MM/YYYY"',
        ),
        (
            "shift 2026-01-01 by the days days",
            {"days": 10**11},
            3,
            "shift a (date) by (days) days: 2026-01-01 moved by 100000000000 days",
        ),
        (
            'extract "(" from the note',
            {"note": "x"},
            3,
            'extract a (pattern) from a (text): the pattern "(" is not a valid pattern',
        ),
        (
            "parse the body as json",
            {"body": "{"},
            3,
            "parse a (text) as json: the text is not JSON (line 1, column 2)",
        ),
        (
            "round the amount to 21 decimals",
            {"amount": "1234567890123456789012345678.5"},
            3,
            "round a (number) to (places) decimals: the number of decimals is between 0 and 20",
        ),
        (
            "read the rows of the file",
            {"file": "not a file"},
            3,
            'read the rows of a (file): needs a file for (file), but got text: "not a file"',
        ),
        (
            'fetch json from "nowhere"',
            {},
            3,
            "fetch json from a (url): nowhere is not an http:// or https:// address",
        ),
        (
            "sort the invoices by amont",
            {"invoices": [{"amount": 1}]},
            3,
            'sort the (items) by (field): none of the items has a field "amont" (they have: amount)',
        ),
        (
            "say the average of the amounts",
            {"amounts": []},
            7,
            "cannot average an empty list (the amounts is )",
        ),
    ],
)
def test_run_time_errors_name_the_line_the_column_and_the_facts(
    run: Run, body: str, inputs: dict[str, Any], column: int, question: str
) -> None:
    outcome = run("to go\n  " + body + "\n", inputs)
    assert isinstance(outcome, Paused), outcome
    assert (outcome.line, outcome.column) == (2, column)
    assert outcome.question.startswith(question), outcome.question
    assert not PYTHON_TEXT.search(outcome.question), outcome.question


@procedure("to charge a (customer)")
def charge(customer: str) -> str:
    if customer == "declined":
        raise RuntimeError("the card was declined")  # the book's own words: shown
    return {"receipts": []}[customer]  # type: ignore[no-any-return]  # a KeyError from Python: not shown


def test_a_book_s_own_message_is_shown_and_python_s_is_not(run: Run, env: Any) -> None:
    from plainrun.language import Execution

    library = Library(
        [*default_library().procedures.values(), *Library.from_functions([charge]).procedures.values()]
    )
    program = parse("to go\n  charge the customer\n", library=library)
    declined = Execution.start(program, {"customer": "declined"}, [], env, library=library).run()
    assert isinstance(declined, Paused) and declined.question == "charge a (customer): the card was declined"
    broken = Execution.start(program, {"customer": "Ann"}, [], env, library=library).run()
    assert (
        isinstance(broken, Paused)
        and broken.question == 'charge a (customer): it could not be done with (customer) "Ann"'
    )


def test_a_failed_step_lists_the_facts_it_reads_with_their_values(run: Run) -> None:
    outcome = run("to go\n  the total is the price * the quantity\n", {"price": "$5", "quantity": "three"})
    assert isinstance(outcome, Paused) and (outcome.line, outcome.column) == (2, 26)
    assert outcome.facts == ["price", "quantity"]
    assert outcome.question == (
        'cannot multiply text ("$5") by text ("three"): "three" does not read as a number; to join texts'
        ' write "{…}{…}" (the price is "$5"; the quantity is "three")'
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("sorting the invoices by amount", "did you mean 'sort the (items) by (field)'"),
        ("upercase the name", "did you mean 'uppercase a (text)'"),
        ("frobnicate the invoices", 'no procedure matches "frobnicate the invoices"'),
        ("sort the invoices by amount descending where", None),
        ('round "abc" to the places', "did you mean 'round a (number) to (places) decimals'?"),
        ("split the note into words", "did you mean 'split a (text) by a (separator)'?"),
        (
            "uppercase the note's",
            'this reads as "uppercase a (text)", but its (text) "the note \'s" is not a value: expected a'
            " field name after 's",
        ),
    ],
)
def test_suggestions_rank_by_closeness_and_never_repeat_the_line(line: str, message: str | None) -> None:
    from plainrun.language import ProcessSyntaxError

    try:
        parse(f"to go\n  {line}\n")
    except ProcessSyntaxError as err:
        [issue] = err.errors
        assert message is not None and message in issue.message, issue.message
        if message.startswith("no procedure"):
            assert "did you mean" not in issue.message  # nothing unrelated is offered
    else:
        assert message is None
