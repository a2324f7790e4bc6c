"""No silent wrong answers: a value compares the way it prints, lists stay lists, times compare
across time zones, and what has no sensible answer is an exception instead of a guess."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from plainrun.language import Outcome, Paused, Succeeded

Run = Callable[..., Outcome]


def verdicts(run: Run, conditions: list[str], inputs: dict[str, Any] | None = None) -> list[bool]:
    """Whether each condition holds, run in one process (the clock reads 2026-11-23T09:30 UTC)."""
    body = "".join(f'  if {c} then\n    say "yes"\n  else\n    say "no"\n' for c in conditions)
    outcome = run("to go\n  find the missing discount\n" + body, inputs)
    assert isinstance(outcome, Succeeded), outcome
    return [line == "yes" for line in outcome.log]


CONDITIONS: list[tuple[str, bool]] = [
    ('the above is "Not Found"', True),
    ('the above is "not found"', True),
    ("the above is empty", True),
    ("the above > 0 or the above < 0", False),
    # codes with a leading zero are not numbers; numbers written two ways are
    ('the code is "7"', False),
    ("the code is 7", False),
    ('the code is "007"', True),
    ('the amount is "1000"', True),
    ("the amount is 1000", True),
    # money of two currencies is never equal; money keeps cents, as it prints
    ("$5 = €5", False),
    ("$5 = 5", True),
    ("$10 / 3 = $3.33", True),
    ("0.1 + 0.2 = 0.3", True),
    # a list compares as it prints, a one-item list as its item
    ('the tags is "urgent, paid"', True),
    ('the one tag is "urgent"', True),
    # numeric text reads as its number
    ("the zero text", False),
    ("the one text", True),
    # dates and times: now and today against literals, text dates in time order
    ("now > 2026-11-23T09:00", True),
    ("now < 2026-11-23T10:00", True),
    ("now is after 2026-11-23 and now is before 2026-11-24", True),
    ("today is 2026-11-23", True),
    ("today < now", True),
    ("the later text > now", True),
    ("the zoned text < now", True),
    ("the first day < the second day", True),
    ("2026-11-23T00:00 = 2026-11-23", True),
    # a number contains what it prints
    ("1175 contains 17", True),
]


def test_values_compare_the_way_they_print(run: Run) -> None:
    inputs = {
        "code": "007",
        "amount": "1,000.00",
        "tags": ["urgent", "paid"],
        "one tag": ["urgent"],
        "zero text": "0",
        "one text": "1.5",
        "later text": "2026-11-23T10:00:00",
        "zoned text": "2026-11-23T10:00:00+02:00",
        "first day": "5 January 2026",
        "second day": "10 January 2026",
    }
    expected = [verdict for _, verdict in CONDITIONS]
    assert verdicts(run, [condition for condition, _ in CONDITIONS], inputs) == expected


@pytest.mark.parametrize(
    ("body", "log"),
    [
        # "the Xs are <a list>" is that list, not a list holding it; lists given together are joined
        ('split "a,b,c" by ","\nthe parts are the above\nsay the number of the parts', ["3"]),
        ("the rows are the table\nsay the number of the rows", ["2"]),
        ("the all are the table, the table\nsay the number of the all", ["4"]),
        ("find the nothing\nthe xs are the above\nsay the number of the xs", ["0"]),
        ("the ys are the table's name\nsay the ys", ["a, b"]),
        # a text is one item; its length is its characters
        ('the note is "abc"\nsay the number of the note\nsay the length of the note', ["1", "3"]),
        # differences of time count whole days towards zero, across zones
        ("say 2026-11-24T08:00 - 2026-11-23T09:00\nsay now - 2026-11-23", ["0", "0"]),
        ('say the due text + 30\nsay "2026-01-31" - 2026-01-01', ["2026-03-02", "30"]),
    ],
)
def test_lists_and_times_give_the_natural_answer(run: Run, body: str, log: list[str]) -> None:
    inputs = {"table": [{"name": "a"}, {"name": "b"}], "due text": "2026-01-31"}
    outcome = run("to go\n" + "".join(f"  {line}\n" for line in body.splitlines()), inputs)
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == log


def test_ask_offers_the_items_of_a_list_as_its_choices(run: Run) -> None:
    outcome = run(
        'to go\n  ask "Which vendor?"\n    the choices are the vendors, "none"\n', {"vendors": ["A", "B"]}
    )
    assert isinstance(outcome, Paused) and outcome.choices == ["A", "B", "none"]


@pytest.mark.parametrize(
    ("line", "inputs", "question"),
    [
        # a guess would be a wrong answer: each is an exception with the line, column and facts
        (
            "say the code + 1",
            {"code": "12abc"},
            'cannot add text ("12abc") and a number (1): "12abc" does not read as a number',
        ),
        (
            "say the total + the fee",
            {"total": "1.000,50", "fee": 1},
            'cannot add text ("1.000,50") and a number (1)',
        ),
        ("say $5 + €5", {}, "cannot combine $5.00 and €5.00: different currencies"),
        ("if $5 < €6 then\n    say 1", {}, "cannot compare $5.00 with €6.00: different currencies"),
        ("say the tags > 1", {"tags": ["a"]}, "cannot compare a list (a) with a number (1)"),
        (
            "say the when - 2026-01-01",
            {"when": "soon"},
            'cannot subtract a date (2026-01-01) from text ("soon")',
        ),
        (
            "say the invoice's amount * 2",
            {"invoice": {}},
            "the invoice's amount is Not Found, so it cannot be calculated with",
        ),
    ],
)
def test_what_has_no_sensible_answer_is_an_exception(
    run: Run, line: str, inputs: dict[str, Any], question: str
) -> None:
    outcome = run(f"to go\n  {line}\n", inputs)
    assert isinstance(outcome, Paused) and outcome.line == 2, outcome
    assert outcome.question.startswith(question), outcome.question
