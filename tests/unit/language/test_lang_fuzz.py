"""Bad input never crashes: parse raises only ProcessSyntaxError, and a run only returns an Outcome."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plainrun.language import (
    Execution,
    Failed,
    Limits,
    LocalEnvironment,
    Paused,
    ProcessSyntaxError,
    Succeeded,
    parse,
)

SEED = """\
to process an invoice
  the total is the invoice's amount + the invoice's tax
  the fruits are "apple", "banana", "cherry"
  if the total > 10000 and the first fruit is not "x" then
    ask "Approve {the total}?"
      the choices are "yes", "no"
    if the above is "no" then
      stop
  else
    say the number of the fruits
  process each fruit as follows
    add 1 to the total
  validate the following
    ensure the total >= 0
  convert the total to text
  uppercase the total
  compute the tax of 5
  the output total is the total

to compute the tax of an amount
  the result is the amount * 0.2
"""

WORDS = [
    "the",
    "is",
    "are",
    "to",
    "if",
    "then",
    "else",
    "say",
    "ask",
    "add",
    "process",
    "each",
    "as",
    "follows",
    "get",
    "find",
    "of",
    "'s",
    "whose",
    "(",
    ")",
    '"',
    "{",
    "}",
    "+",
    "-",
    "*",
    "/",
    ",",
    "1",
    "2.5",
    "$3",
    "2026-01-02",
    "first",
    "total",
    "x",
    "\n",
    "\n  ",
    "\n    ",
    "\t",
    "#",
    ":",
    "not",
    "and",
    "or",
    "stop",
    "validate",
    "ensure",
    "where",
    "with",
    "run",
    "start",
    "a",
    "run",
    "wait",
    "for",
    "runs",
    "/",
]

tokens = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The seed with a few characters replaced, removed or inserted."""
    text = SEED
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(WORDS), st.text(max_size=3)))
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), tokens.map(lambda body: "to go\n  " + body), mutated()))
def test_parse_raises_only_syntax_errors(source: str) -> None:
    try:
        program = parse(source)
    except ProcessSyntaxError as err:
        assert err.errors and all(e.line >= 1 and e.column >= 1 for e in err.errors)
        str(err)
        return
    assert program.procedures


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutated(),
    st.dictionaries(
        st.sampled_from(["invoice", "amount", "total", "fruits"]),
        st.one_of(st.integers(), st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False)),
    ),
)
def test_valid_but_silly_programs_only_ever_produce_an_outcome(
    source: str, inputs: dict[str, object]
) -> None:
    try:
        program = parse(source)
    except ProcessSyntaxError:
        return
    with tempfile.TemporaryDirectory() as directory:
        env = LocalEnvironment(Path(directory))
        limits = Limits(max_steps=5_000, max_loop_iterations=1_000)
        for mode in ("pause", "fail"):
            outcome = Execution.start(program, inputs, [], env, on_exception=mode, limits=limits).run()
            assert isinstance(outcome, Succeeded | Paused | Failed)
            if isinstance(outcome, Paused | Failed):
                assert outcome.line >= 1 and outcome.column >= 1
                message = outcome.question if isinstance(outcome, Paused) else outcome.message
                # the interpreter's last resort for a fault of its own never shows
                assert "this step could not be done" not in message, message
