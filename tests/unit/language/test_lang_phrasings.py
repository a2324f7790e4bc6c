"""The Kognitos phrasings and their neighbours, each run through a real program."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plainrun.language import Execution, LocalEnvironment, Outcome, Paused, SmtpSettings, Succeeded, parse

Run = Callable[..., Outcome]


APPLICANTS = """\
to screen an applicant
  get the document's first address as the shipping address
  use the last name as the order name
  verify applicant qualifications with
    the applicant is the order name
  get the answer
  the verdict is the above
  the number of checks is the number of the document's checks
  if the number of team members is between 2 and 5 and the score is at least 70% then
    say "team ok"
  if the score is one of 70%, 80% or 90% then
    say "a round score"
  say "{the order name} ships to {the shipping address}: {the verdict} after {the number of checks} checks"
  the output verdict is the verdict
  the output share is the score * 200

to verify applicant qualifications
  the answer is "qualified"
"""


def test_an_applicant_screening_in_the_kognitos_style(run: Run) -> None:
    inputs = {
        "document": {"addresses": ["1 Main St", "2 High St"], "checks": ["id", "credit"]},
        "last name": "Lee",
        "team members": ["Ann", "Bo", "Cy"],
        "score": "80%",
    }
    outcome = run(APPLICANTS, inputs)
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == ["team ok", "a round score", "Lee ships to 1 Main St: qualified after 2 checks"]
    assert outcome.outputs == [{"name": "verdict", "value": "qualified"}, {"name": "share", "value": 160}]


@pytest.mark.parametrize(
    ("body", "inputs", "log"),
    [
        # plural possessives, straight or curly
        ("say the invoices' amounts\nsay the sum of the invoices\u2019 amounts", None, ["10, 30", "40"]),
        ("say the number of invoices whose amount is between 5 and 20", None, ["1"]),
        ("say the invoices whose amount is not between 5 and 20", None, ['{"amount": "30"}']),
        ("say the number of the invoices whose amount is one of 10, 11", None, ["1"]),
        ('if 15 is between 10 and 20 and 25 is not between 10 and 20 then\n  say "ok"', None, ["ok"]),
        (
            'if 20 is between 10 and 20 and 10 is between 10 and 20 then\n  say "ends count"',
            None,
            ["ends count"],
        ),
        ('if "b" is in "a", "b" then\n  say "in"', None, ["in"]),
        ('if 5 exceeds 4 and 5 is no more than 5 and 5 is above 4 then\n  say "ok"', None, ["ok"]),
        # a comparison after and/or may leave out what it compares
        ('if 5 is greater than 3 and less than 10 then\n  say "in"', None, ["in"]),
        ('if 5 is less than 3 or is 5 then\n  say "five"', None, ["five"]),
        # percentages: 0.02 in arithmetic, 2% in print
        (
            "the rate is 2%\nsay the rate\nsay 250 * the rate\nsay 100 * (1 + the rate)",
            None,
            ["2%", "5", "102"],
        ),
        (
            "say 15% + 5%\nsay 50% * 50%\nsay $80 * 25%\nsay 3 / 50%\nsay -5%",
            None,
            ["20%", "25%", "$20.00", "6", "-5%"],
        ),
        ('if 2% = 0.02 and 2% is "2%" and not (2% = 2) then\n  say "equal"', None, ["equal"]),
        ("the rate is 0\nadd 5% to the rate\nadd 2% to the rate\nsay the rate", None, ["7%"]),
        # the answer of a procedure, singular or plural
        ("compute the tax of 50\nget the answers\nsay the above\nsay the answer", None, ["10", "10"]),
    ],
)
def test_phrasings(run: Run, body: str, inputs: dict[str, Any] | None, log: list[str]) -> None:
    source = (
        "to go\n"
        + "".join(f"  {line}\n" for line in body.splitlines())
        + "\nto compute the tax of an amount\n  the answer is the amount * 0.2\n"
    )
    outcome = run(source, inputs or {"invoices": [{"amount": "10"}, {"amount": "30"}]})
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == log


def test_adding_a_percentage_to_a_number_shows_both_readings(run: Run) -> None:
    outcome = run("to go\n  the price is 200\n  say the price + 5%\n")
    assert isinstance(outcome, Paused) and (outcome.line, outcome.column) == (3, 17)
    assert outcome.question.startswith(
        "adding 5% to 200 has two readings: 200 * (1 + 5%) changes it by 5% of itself, 200 + 0.05 uses"
        " the fraction; write the one you mean"
    )


PIES = """\
to bake pies
  process each flavour in the flavours as follows
    start a run where
      the procedure is /to make a pie
      the flavour is the flavour
  wait for the runs
  retrieve data from the runs
    the fact names are "pie", "output price"
  the menu is the above
  say the menu's pie
  say the sum of the menu's "output price"
  start a run where
    the procedure is /to make a pie
    the flavour is "plum"
  retrieve data from the runs where
    the fact name is "pie"
  say the above
  invoke make a pie with
    the flavour is "fig"
  run make a pie where
    the flavour is "pear"
  say the above's pie

to make a pie
  the output pie is "{the flavour} pie"
  the output price is 4
"""


def test_parallel_runs_and_their_data(tmp_path: Path) -> None:
    program = parse(PIES)
    env = LocalEnvironment(tmp_path, processes=[program])
    outcome = Execution.start(program, {"flavours": ["apple", "cherry"]}, [], env).run()
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == ["apple pie, cherry pie", "8", '{"pie": "plum pie"}', "pear pie"]
    assert len(env.children) == 5  # two, one, the invoked fig pie and the pear pie


def test_retrieving_a_fact_no_run_has_names_the_run_and_its_facts(tmp_path: Path) -> None:
    source = PIES.replace('"pie", "output price"', '"pie", "crust"')
    program = parse(source)
    outcome = Execution.start(
        program, {"flavours": ["apple"]}, [], LocalEnvironment(tmp_path, [program])
    ).run()
    assert isinstance(outcome, Paused) and outcome.line == 7
    assert outcome.question == 'the run 1 has no fact "crust" (it has: pie, price)'


def test_a_singular_fact_fills_a_plural_parameter_of_a_book(tmp_path: Path) -> None:
    source = """\
to check an attachment
  write "a,b" to a file named "x.csv"
  the invoice is the above
  send an email to "ops@example.com" where
    the subject is "Invoice"
    the attachment is the invoice
"""
    env = LocalEnvironment(tmp_path, smtp=SmtpSettings("127.0.0.1", 1, "robot@example.com", timeout=1))
    outcome = Execution.start(parse(source), {}, [], env).run()  # nothing listens on port 1
    # The attachment reached the book (a wrong name would fail before any connection):
    assert isinstance(outcome, Paused) and outcome.question.endswith("127.0.0.1:1 could not be reached")
