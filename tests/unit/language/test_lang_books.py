"""The books API: declaring procedures, checking their arguments, discovering them by entry point."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from plainrun.language import (
    BookDefinitionError,
    Environment,
    Execution,
    Library,
    LocalEnvironment,
    Paused,
    Succeeded,
    discover,
    parse,
    procedure,
)

BOOK = """
from plainrun.language import procedure

@procedure("to shout a (text) at a (volume)")
def shout(text: str, volume: int, suffix: str = "!") -> str:
    return text.upper() * volume + suffix
"""


@pytest.fixture
def installed_book(tmp_path: Path) -> Iterator[str]:
    """A real distribution on sys.path that declares a ``plainrun.books`` entry point."""
    (tmp_path / "shouting_book.py").write_text(BOOK)
    dist = tmp_path / "shouting_book-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shouting-book\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[plainrun.books]\nshouting = shouting_book\n")
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield "shouting_book"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shouting_book", None)
        importlib.invalidate_caches()


def test_an_installed_book_is_found_through_its_entry_point(installed_book: str, tmp_path: Path) -> None:
    names = [ep.name for ep in importlib.metadata.entry_points(group="plainrun.books")]
    assert "shouting" in names
    library = discover()
    assert "shout (text) at (volume)" in library.procedures
    assert "uppercase (text)" in library.procedures  # the built-in books are always there
    program = parse(
        'to go\n  shout "hey" at 2 with\n    the suffix is "?"\n  the output x is the above\n',
        library=library,
    )
    outcome = Execution.start(program, {}, [], LocalEnvironment(tmp_path), library=library).run()
    assert isinstance(outcome, Succeeded) and outcome.outputs == [{"name": "x", "value": "HEYHEY?"}]


def test_arguments_are_checked_against_type_hints_on_the_calls_line(tmp_path: Path) -> None:
    @procedure("to double a (number)")
    def double(number: Decimal) -> Decimal:
        return number * 2

    library = Library.from_functions([double])
    env = LocalEnvironment(tmp_path)
    ok = parse('to go\n  double "1,000.25"\n  the output x is the above\n', library=library)
    outcome = Execution.start(ok, {}, [], env, library=library).run()
    assert isinstance(outcome, Succeeded) and outcome.outputs == [{"name": "x", "value": 2000.5}]

    bad = parse('to go\n  say "start"\n  double the list\n', library=library)
    outcome = Execution.start(bad, {"list": [1]}, [], env, library=library).run()
    assert isinstance(outcome, Paused) and (outcome.kind, outcome.line, outcome.column) == ("book", 3, 3)
    assert "needs a number for (number), but got a list" in outcome.question


def test_unknown_where_facts_and_env_injection(tmp_path: Path) -> None:
    @procedure("to note a (key)")
    def note(key: str, env: Environment, value: Any = None) -> str:
        env.box_set(key, value)
        return key

    library = Library.from_functions([note])
    env = LocalEnvironment(tmp_path)
    program = parse(
        'to go\n  note "a" where\n    the value is 3\n  note "b" where\n    the colour is 1\n',
        library=library,
    )
    outcome = Execution.start(program, {}, [], env, library=library).run()
    assert env.box == {"a": 3}
    assert isinstance(outcome, Paused) and outcome.line == 4
    assert 'has no fact named "colour" (it knows: value)' in outcome.question


def test_badly_declared_procedures_are_refused() -> None:
    @procedure("send a (message)")
    def no_to(message: str) -> None: ...

    @procedure("to send a (message)")
    def wrong_name(text: str) -> None: ...

    with pytest.raises(BookDefinitionError, match='starts with "to"'):
        Library.from_functions([no_to])
    with pytest.raises(BookDefinitionError, match="no parameter 'message'"):
        Library.from_functions([wrong_name])


SALES = """\
to report the sales
  sort the invoices by amount descending
  say the above's vendor
  sort the invoices by due date
  say the above's amount
  sort the invoices by "due date" in descending order
  say the first of the above's vendor
  sort the invoices by the amount
  say the last of the above's vendor
  sort the invoices by the sort field
  say the above's amount
  group the invoices by vendor
  say the above's Acme's amount
  filter the invoices by vendor equal to "Acme"
  say the number of the above
  filter the invoices by amount greater than 8
  say the number of the above
  total the invoices by amount
  say the above
  average the invoices by amount
  say the above
  count the invoices by vendor
  say the above
  deduplicate the invoices by vendor
  say the above's amount
"""


def test_book_phrases_take_field_names_as_written(tmp_path: Path) -> None:
    invoices = [
        {"vendor": "Acme", "amount": "10", "due date": "2026-01-05"},
        {"vendor": "Bolt", "amount": "30", "due date": "2026-01-01"},
        {"vendor": "Acme", "amount": 5, "due date": "2026-02-01"},
    ]
    source = SALES.replace("to report the sales\n", 'to report the sales\n  the sort field is "due date"\n')
    program = parse(source)
    outcome = Execution.start(program, {"invoices": invoices}, [], LocalEnvironment(tmp_path)).run()
    assert isinstance(outcome, Succeeded), outcome
    assert outcome.log == [
        "Bolt, Acme, Acme",
        "30, 10, 5",
        "Acme",
        "Bolt",
        "30, 10, 5",
        "10, 5",
        "2",
        "2",
        "45",
        "15",
        '{"Acme": 2, "Bolt": 1}',
        "10, 30",
    ]


@pytest.mark.parametrize("group", ["plainrun.books", "console_scripts"])
def test_entry_points_are_read_as_importlib_metadata_reads_them(group: str, installed_book: str) -> None:
    from plainrun.language.entrypoints import entry_points

    ours = sorted((e.name, e.value) for e in entry_points(group))
    theirs = sorted((e.name, e.value) for e in importlib.metadata.entry_points(group=group))
    assert ours == theirs and ours
