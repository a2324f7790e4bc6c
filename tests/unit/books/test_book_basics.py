"""Text, numbers, dates, lists, JSON and the box, called from processes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plainrun.language import Execution, LocalEnvironment, Paused, Succeeded, parse

Log = Callable[..., list[str]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('uppercase "hello"\nsay the above', ["HELLO"]),
        ('lowercase "HeLLo"\nsay the above', ["hello"]),
        ('capitalize "ann smith"\nsay the above', ["Ann Smith"]),
        ('trim "  x  "\nsay "[{the above}]"', ["[x]"]),
        ('split "a, b,c" by ","\nsay the number of the above\nsay the last item of the above', ["3", "c"]),
        ('the names are "a", "b"\njoin the names with " & "\nsay the above', ["a & b"]),
        ('replace "-" with "/" in "2026-01-02"\nsay the above', ["2026/01/02"]),
        ('extract "Invoice (\\w+-\\d+)" from "see Invoice A-17 today"\nsay the above', ["A-17"]),
        ('extract "zzz" from "abc"\nsay the above', ["Not Found"]),
        ('extract all "\\d+" from "1 and 22 and 333"\nsay the above', ["1, 22, 333"]),
        ("round 2.5\nsay the above\nround 1.005 to 2 decimals\nsay the above", ["3", "1.01"]),
        (
            'the ns are 4, "12", 7\npick the smallest of the ns\nsay the above\npick the largest of the ns\n'
            "say the above",
            ["4", "12"],
        ),
        ('parse "23 November 2026" as a date\nsay the above', ["2026-11-23"]),
        (
            'format 2026-11-03 as "DD/MM/YYYY"\nsay the above\nformat 2026-11-03 as "MMMM D"\nsay the above',
            ["03/11/2026", "November D"],
        ),
        ("shift 2026-12-30 by 3 days\nsay the above", ["2027-01-02"]),
        ("count the days from 2026-01-01 to 2026-03-01\nsay the above", ["59"]),
        (
            "the ns are 3, 1, 2\nsort the ns\nsay the above\nreverse the ns\nsay the above",
            ["1, 2, 3", "2, 1, 3"],
        ),
        ("count the people\nsay the above\ndeduplicate the tags\nsay the above", ["2", "a, b"]),
        ('sort the people by "age"\nsay the first item of the above\'s name', ["Bo"]),
        ('sort the people by "age" descending\nsay the above\'s name', ["Ann, Bo"]),
        ('filter the people by "team" equal to "red"\nsay the above\'s name', ["Ann"]),
        ('total the people by "age"\nsay the above', ["61"]),
        ("group the people by \"team\"\nsay the above's red's name", ["Ann"]),
        (
            'parse "{{\\"a\\": [1, 2.5]}}" as json\nsay the above\'s a\n'
            "encode the above as json\nsay the above",
            ["1, 2.5", '{"a": [1, 2.5]}'],
        ),
    ],
)
def test_books(log_of: Log, body: str, expected: list[str]) -> None:
    people = [{"name": "Ann", "age": 41, "team": "red"}, {"name": "Bo", "age": 20, "team": "blue"}]
    assert log_of(body, {"people": people, "tags": ["a", "b", "A"]}) == expected


def test_the_box_keeps_values_between_runs(tmp_path: object, env: LocalEnvironment) -> None:
    first = parse('to go\n  remember 2026-01-05 as "last run"\n  remember $12.50 as "fee"\n')
    second = parse(
        'to go\n  recall "last run"\n  the output last is the above + 1\n  recall "fee"\n'
        '  the output fee is the above\n  forget "fee"\n  recall "fee"\n  the output gone is the above\n'
    )
    assert isinstance(Execution.start(first, {}, [], env).run(), Succeeded)
    outcome = Execution.start(second, {}, [], env).run()
    assert isinstance(outcome, Succeeded)
    assert outcome.outputs == [
        {"name": "last", "value": "2026-01-06"},
        {"name": "fee", "value": 12.5},
        {"name": "gone", "value": "Not Found"},
    ]


def test_a_book_error_is_an_exception_on_the_calls_line(run_body: Callable[..., object]) -> None:
    outcome = run_body('say "x"\nparse "not json" as json')
    assert isinstance(outcome, Paused) and (outcome.kind, outcome.line) == ("book", 3)
    assert "the text is not JSON" in outcome.question
