"""The language never fails in an unexpected way: generated programs parse or raise only
ProcessSyntaxError, and run (under a step, loop, depth and time bound) to an outcome, raising
nothing but the language's own errors; a run's state always round-trips through JSON.

tests/unit/language/test_lang_fuzz.py mutates one seed program; here whole programs are built from
the language's constructs (facts, arithmetic, text, lists, conditions, loops, procedures that call
each other and themselves, questions, validation, conversions, books), so that most of them parse
and the interpreter, not only the parser, is what gets fuzzed.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plainrun.language import (
    Execution,
    Failed,
    LanguageError,
    Limits,
    LocalEnvironment,
    Paused,
    ProcessSyntaxError,
    Succeeded,
    parse,
)

FACTS = ["total", "amount", "name", "items", "count", "flag", "due date", "record"]
LIMITS = Limits(
    max_steps=20_000,
    max_loop_iterations=2_000,
    max_depth=40,
    max_text_chars=200_000,
    max_list_items=20_000,
    max_memory_mb=None,
)
#: Wall-clock bound of one generated run (the limits above should end any run long before it).
MAX_RUN_S = 10.0

fact = st.sampled_from(FACTS)
number = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["0", "0.1", "-3.5", "1e308", "$3", "12%", "1,000.50", "9999999999999999999999"]),
)
text = st.text(
    alphabet=st.characters(categories=["L", "N", "Zs", "Sm", "Sc"], exclude_characters='"{}'), max_size=12
).map(lambda s: f'"{s}"')
date = st.sampled_from(["2026-01-02", "2024-02-29", "0001-01-01", "9999-12-31", "2026-12-31", "2026-13-01"])
atom = st.one_of(
    number, text, date, st.sampled_from(["true", "false", "the above"]), fact.map(lambda f: f"the {f}")
)


def expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(" ".join),
            inner.map(lambda e: f"({e})"),
            st.tuples(st.sampled_from(["the number of", "the sum of", "the first", "the last"]), fact).map(
                lambda t: f"{t[0]} the {t[1]}"
            ),
            st.tuples(fact, fact).map(lambda t: f"the {t[0]}'s {t[1]}"),
            text.map(lambda t: t[:-1] + " {the total}" + '"'),
        )

    return st.recursive(atom, extend, max_leaves=6)


expr = expressions()
condition = st.one_of(
    st.tuples(expr, st.sampled_from([">", "<", ">=", "<=", "=", "is", "is not", "contains"]), expr).map(
        " ".join
    ),
    st.tuples(fact, st.sampled_from(["is valid", "is empty", "is not empty"])).map(
        lambda t: f"the {t[0]} {t[1]}"
    ),
)

listing = st.lists(expr, min_size=2, max_size=4).map(", ".join)
simple = st.one_of(
    st.tuples(fact, expr).map(lambda t: f"the {t[0]} is {t[1]}"),
    st.tuples(fact, listing).map(lambda t: f"the {t[0]} are {t[1]}"),
    st.tuples(fact, expr).map(lambda t: f"the {t[0]} are {t[1]}"),
    expr.map(lambda e: f"say {e}"),
    st.tuples(expr, fact).map(lambda t: f"add {t[0]} to the {t[1]}"),
    st.tuples(fact, expr).map(lambda t: f"set the {t[0]} to {t[1]}"),
    st.tuples(expr, fact).map(lambda t: f"remove {t[0]} from the {t[1]}"),
    st.tuples(fact, st.sampled_from(["number", "text", "date"])).map(
        lambda t: f"convert the {t[0]} to {t[1]}"
    ),
    fact.map(lambda f: f"uppercase the {f}"),
    st.tuples(fact, text).map(lambda t: f"join the {t[0]} with {t[1]}"),
    expr.map(lambda e: f"compute the tax of {e}"),
    expr.map(lambda e: f"round {e}"),
    fact.map(lambda f: f"get the {f}"),
    fact.map(lambda f: f"the output {f} is the {f}"),
    st.just("stop"),
    st.just("do the step"),
)


def block(depth: int) -> st.SearchStrategy[list[str]]:
    """A list of lines at relative indentation 0; compound statements indent their bodies."""
    if depth == 0:
        return st.lists(simple, min_size=1, max_size=4)

    inner = block(depth - 1)

    def indent(lines: list[str]) -> list[str]:
        return ["  " + line for line in lines]

    compound = st.one_of(
        st.tuples(condition, inner, st.one_of(st.none(), inner)).map(
            lambda t: [f"if {t[0]} then", *indent(t[1]), *(["else", *indent(t[2])] if t[2] else [])]
        ),
        st.tuples(fact, inner).map(lambda t: [f"process each {t[0]} as follows", *indent(t[1])]),
        st.tuples(fact, expr, inner).map(
            lambda t: [f"process each {t[0]} in {t[1]} as follows", *indent(t[2])]
        ),
        st.tuples(text, st.one_of(st.none(), st.lists(text, min_size=1, max_size=3))).map(
            lambda t: [f"ask {t[0]}", *(["  the choices are " + ", ".join(t[1])] if t[1] else [])]
        ),
        st.lists(condition, min_size=1, max_size=2).map(
            lambda cs: ["validate the following", *("  ensure " + c for c in cs)]
        ),
    )
    return st.lists(st.one_of(simple.map(lambda s: [s]), compound), min_size=1, max_size=5).map(
        lambda parts: [line for part in parts for line in part]
    )


@st.composite
def programs(draw: st.DrawFn) -> str:
    main = draw(block(2))
    lines = ["to process an order", *("  " + line for line in main), ""]
    lines += ["to compute the tax of an amount", *("  " + line for line in draw(block(1))), ""]
    lines += ["to do the step", *("  " + line for line in draw(block(1)))]
    if draw(st.booleans()):  # a procedure that calls itself: the depth limit must end it
        lines += ["", "to recurse", "  recurse", "  say 1"]
        lines[1:1] = ["  recurse"]
    return "\n".join(lines) + "\n"


inputs = st.dictionaries(
    st.sampled_from(["total", "amount", "name", "items", "record", "due date"]),
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.lists(st.integers(-5, 5), max_size=5),
        st.dictionaries(st.sampled_from(["total", "name"]), st.integers(), max_size=2),
    ),
    max_size=4,
)


def run_bounded(source: str, given_inputs: dict[str, object]) -> None:
    try:
        program = parse(source)
    except ProcessSyntaxError as err:
        assert err.errors and all(e.line >= 1 and e.column >= 1 for e in err.errors)
        return
    with tempfile.TemporaryDirectory() as directory:
        env = LocalEnvironment(Path(directory))
        for mode in ("pause", "fail"):
            execution = Execution.start(program, given_inputs, [], env, on_exception=mode, limits=LIMITS)
            started = time.monotonic()
            try:
                outcome = execution.run()
            except LanguageError:
                continue  # the language's own error types are allowed; anything else fails the test
            assert time.monotonic() - started < MAX_RUN_S, f"a bounded run took too long:\n{source}"
            assert isinstance(outcome, Succeeded | Paused | Failed), outcome
            if isinstance(outcome, Paused | Failed):
                assert outcome.line >= 1
            state = json.loads(json.dumps(execution.to_json()))
            resumed = Execution.from_json(program, state, env)
            assert type(resumed.run()) is type(outcome)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(programs(), inputs)
def test_generated_programs_parse_and_run_to_an_outcome(source: str, given_inputs: dict[str, object]) -> None:
    run_bounded(source, given_inputs)


@settings(max_examples=100, derandomize=True, deadline=None, database=None)
@given(st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace")))
def test_arbitrary_text_only_ever_raises_a_syntax_error(source: str) -> None:
    run_bounded(source, {})


def test_the_generator_mostly_makes_programs_that_parse() -> None:
    """A guard on the generator itself: if few programs parse, the interpreter is not being fuzzed."""
    parsed, total = 0, 0

    @settings(max_examples=60, derandomize=True, deadline=None, database=None)
    @given(programs())
    def count(source: str) -> None:
        nonlocal parsed, total
        total += 1
        try:
            parse(source)
            parsed += 1
        except ProcessSyntaxError:
            pass

    count()
    assert total >= 50 and parsed / total > 0.4, (parsed, total)
