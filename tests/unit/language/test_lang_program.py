"""Parsing: the program's shape, and errors that point at the line and column."""

from __future__ import annotations

import pytest

from plainrun.language import ProcessSyntaxError, parse
from plainrun.language import nodes as n

INVOICE = """\
# comments start with a hash
to process an invoice
  the total is the invoice's amount + the invoice's tax
  if the total > 10000 then
    ask "Approve this invoice of {the total}? # not a comment"
      the choices are "yes", "no"
    if the above is "no" then
      stop
  the output total is the total
"""


def errors_of(source: str) -> list[tuple[int, int, str]]:
    with pytest.raises(ProcessSyntaxError) as caught:
        parse(source, filename="bad.process")
    return [(e.line, e.column, e.message) for e in caught.value.errors]


def test_the_contract_example_parses_to_typed_nodes_with_positions() -> None:
    program = parse(INVOICE)
    assert program.name == "process an invoice"
    assert program.inputs == ["invoice"]
    define, branch, output = program.process.body
    assert isinstance(define, n.Define) and (define.line, define.column) == (3, 3)
    assert isinstance(define.value, n.Binary) and define.value.op == "+"
    assert isinstance(branch, n.If)
    ask = branch.body[0]
    assert isinstance(ask, n.Ask) and [c.value for c in ask.choices] == ["yes", "no"]  # type: ignore[attr-defined]
    assert isinstance(ask.question, n.Text)
    assert ask.question.parts[-1] == "? # not a comment"
    assert isinstance(output.target, n.FactRef) and output.target.name == "output total"  # type: ignore[attr-defined]


def test_every_error_of_a_file_is_reported_at_once_with_a_caret() -> None:
    source = 'to do things\n  the total is\n  say "unterminated\n  the x is 1 +\n'
    with pytest.raises(ProcessSyntaxError) as caught:
        parse(source, filename="bad.process")
    errors = caught.value.errors
    assert [(e.line, e.column) for e in errors] == [(2, 15), (3, 7), (4, 15)]
    rendered = str(caught.value)
    assert 'bad.process:2:15: expected a value after "is"' in rendered
    assert "      the total is\n                  ^" in rendered
    assert "bad.process:3:7: this text has no closing quote" in rendered


def test_a_name_line_that_is_not_a_procedure_is_an_error_on_its_line() -> None:
    [(line, column, message)] = errors_of("to start\n  say 1\nprocess the invoice\n  say 2\n")
    assert (line, column) == (3, 1)
    assert 'starts with "to" or ends with' in message


def test_indentation_errors_name_the_line() -> None:
    deeper = errors_of('to go\n  say "a"\n      say "b"\n')
    assert deeper == [(3, 7, "this line is indented deeper than its block allows")]
    never_opened = errors_of('to go\n  if 1 > 0 then\n      say "a"\n    say "b"\n')
    assert never_opened == [(4, 5, "this line goes back to an indentation that no block opened")]


def test_tabs_count_as_two_spaces_and_may_be_mixed() -> None:
    program = parse('to go\n\tif 1 > 0 then\n  \tsay "a"\n    say "b"\n')
    branch = program.process.body[0]
    assert isinstance(branch, n.If) and len(branch.body) == 2


def test_an_unknown_phrase_names_the_closest_known_ones() -> None:
    source = (
        "to go\n  compute the taxes of 5\n\nto compute the tax of an amount\n  the result is the amount\n"
    )
    [(line, column, message)] = errors_of(source)
    assert (line, column) == (2, 3)
    assert 'no procedure matches "compute the taxes of 5"' in message
    assert "did you mean 'compute the tax of an amount'?" in message


def test_names_ignore_case_underscores_and_plurals() -> None:
    program = parse(
        "to go\n  say the Invoice_Number\n  say the invoice number\n  process each item as follows\n"
        "    say the item\n"
    )
    assert program.inputs == ["invoice number", "items"]


def test_inputs_are_facts_read_and_never_defined_in_first_use_order() -> None:
    program = parse(
        "to go\n  the total is the amount + the tax\n  say the customer\n  say the total\n"
        "  process each row in the file's rows as follows\n    say the row\n"
        "  helper\n\nto helper\n  say the threshold\n"
    )
    assert program.inputs == ["amount", "tax", "customer", "threshold"]


def test_procedures_are_called_by_phrase_with_where_blocks() -> None:
    program = parse(
        'to go\n  send an email to "ops@example.com" where\n    the subject is "Hi"\n'
        "  compute the tax of 120\n\nto compute the tax of an amount\n  the result is the amount * 0.2\n"
    )
    email, tax = program.process.body
    assert isinstance(email, n.Call) and email.call.procedure == "send an email to (recipient)"
    assert [d.target.name for d in email.call.where] == ["subject"]  # type: ignore[attr-defined]
    assert isinstance(tax, n.Call) and tax.call.procedure == "compute the tax of (amount)"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("the total is 1 +", "expected a value at the end of the line"),
        ("set the total 5", 'expected "to"'),
        ("convert the total to banana", 'expected "text", "number" or "date"'),
        ("stop now", '"stop" stands alone'),
        ("say the", 'expected a name after "the"'),
        ("say 2026-02-30", "is not a real date"),
        ("say (1 + 2", 'expected ")"'),
        ('say "{the}"', 'expected a name after "the"'),
        ('say "{the"', "this { has no closing }"),
    ],
)
def test_statement_errors_explain_themselves(line: str, message: str) -> None:
    [(number, _column, text)] = errors_of(f"to go\n  {line}\n")
    assert number == 2
    assert message in text


def test_else_without_if_and_a_duplicate_procedure_are_errors() -> None:
    errors = errors_of('to go\n  else\n    say "x"\n\nto go\n  say 1\n')
    messages = [message for _, _, message in errors]
    assert any('"else" must follow an "if"' in m for m in messages)
    assert any("already defined on line 1" in m for m in messages)


def test_on_exception_is_written_at_the_top_of_the_process() -> None:
    program = parse('to check a code\n  on exception: fail\n  get the code\n  say "{the above}"\n')
    assert program.on_exception == "fail"
    assert [type(s) for s in program.process.body] == [n.Get, n.Say]  # the directive is not a step
    assert parse("to check a code\n  On Exception: pause\n  get the code\n").on_exception == "pause"
    assert parse("to check a code\n  get the code\n").on_exception is None
    assert errors_of("to check a code\n  get the code\n  on exception: fail\n") == [
        (3, 3, '"on exception: fail" goes on the first lines of the process, before its steps')
    ]
    assert errors_of("to go\n  on exception: sometimes\n  say 1\n") == [
        (2, 3, 'write "on exception: fail" or "on exception: pause"')
    ]
    assert errors_of("to go\n  say 1\n\nto help\n  on exception: fail\n  say 2\n") == [
        (5, 3, '"on exception: fail" goes on the first lines of the process, before its steps')
    ]
