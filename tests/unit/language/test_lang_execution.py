"""Running processes: every statement, outputs, exceptions on their line, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from plainrun.language import Failed, Limits, LocalEnvironment, Outcome, Paused, Succeeded, parse

Run = Callable[..., Outcome]


def succeeded(outcome: Outcome) -> Succeeded:
    assert isinstance(outcome, Succeeded), outcome
    return outcome


def log_of(run: Run, body: str, inputs: dict[str, Any] | None = None) -> list[str]:
    source = "to go\n" + "".join(f"  {line}\n" for line in body.strip("\n").splitlines())
    return succeeded(run(source, inputs)).log


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'the fruits are "apple", "banana", "cherry"\nsay the number of the fruits\nsay the last fruit',
            ["3", "cherry"],
        ),
        (
            "say 1,000.50 + 1\nsay 7 / 2\nsay 2 times 3 plus 1\nsay 0.1 + 0.2\nsay 10 divided by 4",
            ["1001.5", "3.5", "7", "0.3", "2.5"],
        ),
        ("say $120.20 * 2\nsay $5 + 1.5", ["$240.40", "$6.50"]),
        (
            "the due date is 2026-01-31\nadd 1 month to the due date\nsay the due date\n"
            "add 5 days to the due date\nsay the due date\nsay 2026-03-10 - 2026-03-01",
            ["2026-02-28", "2026-03-05", "9"],
        ),
        ("say today\nsay now", ["2026-11-23", "2026-11-23T09:30:00+00:00"]),
        ('if 3 > 2 and not (1 = 2) then\n  say "yes"\nelse\n  say "no"', ["yes"]),
        ('if "Open" is "open " then\n  say "same"', ["same"]),
        (
            'if 5 is at least 5 and 4 is less than 5 and 7 is greater than or equal to 7 then\n  say "ok"',
            ["ok"],
        ),
        (
            'if "invoice 17" contains "17" and "abc" starts with "A" and "abc" ends with "c" then\n'
            '  say "ok"',
            ["ok"],
        ),
        ('the list is "a", "b"\nif the list contains "B" then\n  say "has b"', ["has b"]),
        (
            'the note is ""\nif the note is empty then\n'
            '  say "empty"\nif the note is not empty then\n  say "full"',
            ["empty"],
        ),
        ('if 1 > 2 then\n  say "a"\nelse if 2 > 1 then\n  say "b"\nelse\n  say "c"', ["b"]),
        (
            "the total is 0\nthe amounts are 1, 2, 3\n"
            "process each amount as follows\n  add the amount to the total\n"
            "say the total",
            ["6"],
        ),
        (
            'the rows are "x", "y"\nprocess each row in the rows as follows\n  say "row {the row}"',
            ["row x", "row y"],
        ),
        (
            'imagine a customer\nthe customer\'s name is "Ann"\nsay "Dear {the customer\'s name}"\n'
            'say the customer\'s "name"',
            ["Dear Ann", "Ann"],
        ),
        (
            'the list is "a", "b", "c"\nremove "b" from the list\nadd "d" to the list\nsay the list',
            ["a, c, d"],
        ),
        ("the total is 10\nsubtract 3 from the total\nset the total to the total * 2\nsay the total", ["14"]),
        (
            'the price is "12.50"\nconvert the price to number\n'
            "say the price + 1\nconvert the price to text\n"
            "say the above",
            ["13.5", "12.5"],
        ),
        ('the day is "2026-11-23"\nconvert the day to a date\nsay the day + 1', ["2026-11-24"]),
        ("the a is 5\nuse the a as the b\nsay the b", ["5"]),
        ("find the missing thing\nsay the above", ["Not Found"]),
        ("the one is 1\nget the one\nsay the above", ["1"]),
        ('the words are "a", "b"\nsay the 2nd word\nsay the first word', ["b", "a"]),
        ('the text is "one\\ntwo"\nsay the last line of the text', ["two"]),
        ('say "stop here"\nstop\nsay "never"', ["stop here"]),
        ('say "{{braces}} and {1 + 1}"', ["{braces} and 2"]),
        ("the ns are 1, 2\nsay the sum of the ns", ["3"]),
    ],
)
def test_statements(run: Run, body: str, expected: list[str]) -> None:
    assert log_of(run, body) == expected


def test_tables_from_a_csv(run: Run, env: LocalEnvironment) -> None:
    file = env.add_file(
        "invoices.csv", b'vendor,status,amount\nAcme,open,10.50\nBolt,paid,3\nCoda,Open,"1,000"\n'
    )
    source = """\
to go
  read the csv rows of the file
  the rows are the above
  the open rows are the rows whose status is "open"
  say the number of the open rows
  say the first row's vendor
  say the sum of the open rows's amount
  say the file's name
  the output count is the number of the open rows
  the output total is the sum of the open rows's amount
  the output vendors is the rows's vendor
"""
    outcome = succeeded(run(source, files=[file]))
    assert outcome.log == ["2", "Acme", "1010.5", "invoices.csv"]
    assert outcome.outputs == [
        {"name": "count", "value": 2},
        {"name": "total", "value": 1010.5},
        {"name": "vendors", "value": "Acme, Bolt, Coda"},
    ]


def test_the_most_specific_phrase_wins_over_the_process_s_own_name(run: Run, env: LocalEnvironment) -> None:
    # "read an emailed invoice" could take "the csv rows of the file" as its argument; the book's
    # longer phrase is the one meant (and calling the process itself would recurse).
    file = env.add_file("lines.csv", b"item,amount\npens,10\npaper,20\n")
    source = (
        "to read an emailed invoice\n"
        "  read the csv rows of the file\n"
        "  the output lines is the number of the above\n"
    )
    assert succeeded(run(source, files=[file])).outputs == [{"name": "lines", "value": 2}]


def test_procedures_results_and_predicates(run: Run) -> None:
    source = """\
to go
  compute the tax of 120
  say the above
  say the result
  the doubled is the double of 21
  say the doubled
  if the invoice is valid then
    say "valid"
  the invoice's amount is 0
  if not the invoice is valid then
    say "invalid"

to compute the tax of an amount
  the result is the amount * 0.2

the double of a number is
  the result is the number * 2

an invoice is valid if
  the invoice's amount > 0
"""
    outcome = succeeded(run(source, {"invoice": {"amount": 5}}))
    assert outcome.log == ["24", "24", "42", "valid", "invalid"]


def test_where_blocks_reach_the_procedure(run: Run) -> None:
    source = """\
to go
  greet the customer where
    the greeting is "Hello"
  the output message is the above

to greet a person
  the result is "{the greeting}, {the person}!"
"""
    assert succeeded(run(source, {"customer": "Ann"})).outputs == [
        {"name": "message", "value": "Hello, Ann!"}
    ]


def test_outputs_keep_definition_order_and_render_values_for_the_api(run: Run) -> None:
    source = """\
to go
  the output when is 2026-01-02
  the output ok is true
  the output price is $19.99
  the output list is 1, 2
  the output record is the invoice
  the output nothing is the invoice's missing
  the output when is 2026-01-03
"""
    outcome = succeeded(run(source, {"invoice": {"a": 1}}))
    assert outcome.outputs == [
        {"name": "when", "value": "2026-01-03"},
        {"name": "ok", "value": "true"},
        {"name": "price", "value": 19.99},
        {"name": "list", "value": "1, 2"},
        {"name": "record", "value": '{"a": 1}'},
        {"name": "nothing", "value": "Not Found"},
    ]


def test_inputs_from_the_api_behave_as_numbers_where_arithmetic_needs_them(run: Run) -> None:
    source = "to go\n  the output total is the amount + the fee\n  the output label is the code\n"
    outcome = succeeded(
        run(
            source,
            [
                {"name": "amount", "value": "1,000.50"},
                {"name": "fee", "value": "$120.20"},
                {"name": "Code", "value": 7},
            ],
        )
    )
    assert outcome.outputs == [{"name": "total", "value": 1120.7}, {"name": "label", "value": 7}]


@pytest.mark.parametrize(
    ("body", "kind", "line", "question"),
    [
        ("say the missing", "missing", 2, "What is the missing?"),
        ("say 1 / 0", "error", 2, "cannot divide by zero"),
        ('say "a" - 1', "error", 2, 'cannot subtract a number (1) from text ("a")'),
        ('the x is "abc"\nconvert the x to number', "conversion", 3, '"abc" is not a number'),
        ("get the invoice's total", "missing", 2, "the invoice has no total"),
        ('ask "Approve?"\n  the choices are "yes", "no"', "ask", 2, "Approve?"),
        (
            "validate the following\n  ensure 1 > 2\n  ensure the invoice's total > 0",
            "validate",
            2,
            "These checks failed: 1 > 2; the invoice's total > 0",
        ),
        ('round "abc"', "book", 2, "needs a number for (number), but got text"),
        ("say the 5th item of the invoice's lines", "missing", 2, "there is no 5th item"),
    ],
)
def test_runtime_errors_pause_on_their_line(run: Run, body: str, kind: str, line: int, question: str) -> None:
    source = "to go\n" + "".join(f"  {text}\n" for text in body.splitlines())
    outcome = run(source, {"invoice": {"lines": [1]}})
    assert isinstance(outcome, Paused), outcome
    assert (outcome.kind, outcome.line) == (kind, line)
    assert question in outcome.question


def test_a_failed_validation_lists_the_facts_involved(run: Run) -> None:
    source = (
        "to go\n  validate the following\n    ensure the amount > 0\n    ensure the vendor is not empty\n"
    )
    outcome = run(source, {"amount": 0, "vendor": ""})
    assert isinstance(outcome, Paused)
    assert outcome.facts == ["amount", "vendor"]
    assert outcome.known_facts == {"amount": 0, "vendor": ""}


def test_on_exception_fail_ends_the_run_with_the_message_and_line(run: Run) -> None:
    outcome = run('to go\n  say "hi"\n  say the missing\n', on_exception="fail")
    assert outcome == Failed("What is the missing?", 3, 7, "missing", ["hi"])


@pytest.mark.parametrize(
    ("source", "limits", "message"),
    [
        (
            "to go\n  the n is 0\n  the ns are 1, 2, 3\n"
            "  process each n in the ns as follows\n    say the n\n",
            Limits(max_loop_iterations=2),
            "limit of 2 loop iterations",
        ),
        (
            "to go\n  recurse 1\n\nto recurse a number\n  recurse the number + 1\n",
            Limits(max_depth=20),
            "deeper than the limit of 20",
        ),
        (
            'to go\n  the text is "ab"\n  process each n in 1, 2, 3, 4, 5 as follows\n'
            '    the text is "{the text}{the text}"\n',
            Limits(max_text_chars=10),
            "over the limit of 10",
        ),
        (
            "to go\n  the n is 0\n  the ns are 1, 2, 3\n"
            "  process each x in the ns as follows\n    add 1 to the n\n",
            Limits(max_steps=5),
            "limit of 5 steps",
        ),
    ],
)
def test_limits_end_runaway_runs_with_a_clear_failure(
    run: Run, source: str, limits: Limits, message: str
) -> None:
    outcome = run(source, limits=limits)
    assert isinstance(outcome, Failed), outcome
    assert message in outcome.message
    assert outcome.line > 1


def test_a_deep_recursion_under_the_default_limit_still_works(run: Run) -> None:
    source = (
        'to go\n  count down from 90\n  say "done"\n\nto count down from a number\n'
        "  if the number > 0 then\n    count down from the number - 1\n"
    )
    assert succeeded(run(source)).log == ["done"]


def test_parse_is_independent_of_the_run(env: LocalEnvironment) -> None:
    program = parse("to go\n  the output x is the y\n")
    from plainrun.language import Execution

    first = Execution.start(program, {"y": 1}, [], env).run()
    second = Execution.start(program, {"y": 2}, [], env).run()
    assert succeeded(first).outputs == [{"name": "x", "value": 1}]
    assert succeeded(second).outputs == [{"name": "x", "value": 2}]
