"""Whole numbers are exact up to 4,000 digits (what every store keeps), in literals, text inputs and
arithmetic; past that, and for a number from outside that is not finite, an error that names the
line and the column; fractions computed without rounding where the result is exact."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from plainrun.domain import storable
from plainrun.language import Outcome, Paused, ProcessSyntaxError, Succeeded, parse
from plainrun.language.values import Money, input_value, output_value, parse_number
from tests.unit.language.test_lang_errors import PYTHON_TEXT

Run = Callable[..., Outcome]

POWER = (
    "to compute a power\n"
    '  split the twos by ","\n'
    "  the factors are the above\n"
    "  the power is 1\n"
    "  process each factor in the factors as follows\n"
    "    set the power to the power * the factor\n"
    "  the output power is the power\n"
    "  the output next is the power + 1\n"
    "  the output half is the power / 2\n"
    "  the output square is the power * the power\n"
)


def outputs(outcome: Outcome) -> dict[str, Any]:
    assert isinstance(outcome, Succeeded), outcome
    return {o["name"]: o["value"] for o in outcome.outputs}


def test_a_power_of_two_beyond_10_to_the_30_is_exact(run: Run) -> None:
    found = outputs(run(POWER, {"twos": ",".join(["2"] * 140)}))
    assert found == {"power": 2**140, "next": 2**140 + 1, "half": 2**139, "square": 2**280}
    assert {type(v) for v in found.values()} == {int}


def test_literals_and_text_inputs_of_many_digits_are_exact(run: Run) -> None:
    forty = "1234567890" * 4
    source = (
        "to multiply big numbers\n"
        f"  the output literal is {forty}\n"
        f"  the output product is {forty} * {forty}\n"
        "  the output from text is the amount * 3\n"
        "  the output sum is the reference + the fraction\n"
    )
    amount = 10**3990 + 7
    found = outputs(run(source, {"amount": str(amount), "reference": 2**70, "fraction": "0.5"}))
    assert found["literal"] == int(forty) and found["product"] == int(forty) ** 2
    assert found["from text"] == amount * 3 and type(found["from text"]) is int
    # not whole: the nearest double, as every output with a fraction
    assert found["sum"] == float(2**70) and type(found["sum"]) is float


def test_sums_and_products_of_fractions_do_not_round(run: Run) -> None:
    source = (
        "to add fractions\n"
        "  the sum is 12345678901234567890.123456789 + 98765432109876543210.987654321\n"
        "  the product is 1.1 * 12345678901234567890.123456789\n"
        "  the quotient is 10 / 4\n"
        '  the output sum is "{the sum}"\n'
        '  the output product is "{the product}"\n'
        '  the output quotient is "{the quotient}"\n'
    )
    found = outputs(run(source))
    assert found["sum"] == "111111111011111111101.11111111"
    assert found["product"] == "13580246791358024679.1358024679"
    assert found["quotient"] == "2.5"


def test_a_quotient_keeps_every_digit_of_its_whole_part(run: Run) -> None:
    source = 'to divide\n  the third is the big / 3\n  the output third is "{the third}"\n'
    found = outputs(run(source, {"big": 10**40}))
    whole, _, fraction = found["third"].partition(".")
    assert whole == "3" * 40 and fraction and set(fraction) == {"3"}


def test_a_literal_of_more_than_4000_digits_is_a_syntax_error_at_its_column() -> None:
    with pytest.raises(ProcessSyntaxError) as raised:
        parse("to go\n  say 1 + " + "9" * (storable.MAX_DIGITS + 1) + "\n")
    (issue,) = raised.value.errors
    assert (issue.line, issue.column) == (2, 11)
    assert "more than 4000 digits" in issue.message
    parse("to go\n  say 1 + " + "9" * storable.MAX_DIGITS + "\n")  # 4000 digits are a number


def test_a_result_past_4000_digits_waits_at_its_line_and_column(run: Run) -> None:
    outcome = run(POWER, {"twos": ",".join(["2"] * 13300)})  # 2**13300 has 4004 digits
    assert isinstance(outcome, Paused), outcome
    assert (outcome.line, outcome.column) == (6, 32)
    assert "more than 4000 digits" in outcome.question
    assert not PYTHON_TEXT.search(outcome.question), outcome.question


def test_numbers_in_a_json_document_are_read_to_the_last_digit(run: Run) -> None:
    source = (
        "to read a document\n"
        "  parse the body as json\n"
        "  the document is the above\n"
        '  the output rate is "{the document\'s rate}"\n'
        "  the output huge is the document's huge\n"
        "  the output count is the document's count + 1\n"
    )
    body = '{"rate": 0.1000000000000000000001, "huge": 1e400, "count": 1180591620717411303424}'
    assert outputs(run(source, {"body": body})) == {
        "rate": "0.1000000000000000000001",
        "huge": 10**400,
        "count": 2**70 + 1,
    }


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("[1e5000]", "the number 1e5000 is larger than the language's numbers go (10^4000)"),
        ("[-Infinity]", "the number -inf is not finite"),
        ('{"a": NaN}', "the number nan is not finite"),
    ],
)
def test_a_number_from_outside_beyond_the_language_is_an_error_of_its_step(
    run: Run, body: str, why: str
) -> None:
    source = "to go\n  the x is 1\n  parse the body as json\n  the output x is the above\n"
    outcome = run(source, {"body": body})
    assert isinstance(outcome, Paused), outcome
    assert (outcome.line, outcome.column) == (3, 3)
    assert why in outcome.question
    assert not PYTHON_TEXT.search(outcome.question), outcome.question


def test_text_of_more_than_4000_digits_is_text_not_a_number() -> None:
    assert parse_number("9" * storable.MAX_DIGITS) == 10**storable.MAX_DIGITS - 1
    assert parse_number("9" * (storable.MAX_DIGITS + 1)) is None
    assert parse_number("-" + "9" * 50 + ".25") == Decimal("-" + "9" * 50 + ".25")


@pytest.mark.parametrize(
    ("value", "out"),
    [
        (2**140, 2**140),
        (Decimal(2**140), 2**140),
        (Decimal("1" + "0" * 400 + ".5"), "1" + "0" * 400 + ".5"),  # beyond the doubles: its text
        (Decimal("0.5"), 0.5),
    ],
)
def test_outputs_keep_whole_numbers_exactly_and_never_write_an_infinity(value: object, out: object) -> None:
    found = output_value(value)
    if isinstance(out, str):
        assert isinstance(found, str) and found.startswith(out)
    else:
        assert found == out and type(found) is type(out)


def test_a_record_written_as_json_keeps_every_digit(run: Run) -> None:
    source = (
        "to write a record\n"
        "  the invoice's total is 0.1000000000000000000001 * 3\n"
        "  the invoice's count is the count * the count\n"
        "  the output invoice is the invoice\n"
        "  encode the invoice as json\n"
        "  the output encoded is the above\n"
    )
    found = outputs(run(source, {"invoice": {"total": 0}, "count": 2**70}))
    text = '{"total": 0.3000000000000000000003, "count": ' + str(2**140) + "}"
    assert found == {"invoice": text, "encoded": text}


@pytest.mark.parametrize(
    ("value", "given"),
    [
        (Decimal("0.1000000000000000000001"), "0.1000000000000000000001"),
        (Decimal("2.5"), 2.5),
        (2**140, 2**140),
        (Money(Decimal("12345678901234567.25"), "$"), "$12,345,678,901,234,567.25"),
        (Money(Decimal("19.99"), "$"), 19.99),
    ],
)
def test_a_child_runs_input_is_the_very_number(value: object, given: object) -> None:
    found = input_value(value)
    assert found == given and type(found) is type(given)
    if isinstance(found, str):
        assert parse_number(found) == value  # the language reads the text back as the number
