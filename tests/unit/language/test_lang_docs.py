"""Every example in docs/language.md runs and produces the result written beside it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from plainrun.language import Execution, LocalEnvironment, Paused, ProcessSyntaxError, Succeeded, parse

DOC = Path(__file__).resolve().parents[3] / "docs" / "language.md"
BLOCK = re.compile(r"```(process|process-inputs|result)\n(.*?)```", re.DOTALL)


def examples() -> list[tuple[str, dict[str, Any], list[str]]]:
    found: list[tuple[str, dict[str, Any], list[str]]] = []
    source: str | None = None
    inputs: dict[str, Any] = {}
    for kind, body in BLOCK.findall(DOC.read_text()):
        if kind == "process":
            source = body
            inputs = {}
            for line in body.splitlines():
                if match := re.match(r"# input (.+?) = (.+)$", line):
                    inputs[match.group(1)] = json.loads(match.group(2))
        elif kind == "process-inputs":
            inputs.update(json.loads(body))
        else:
            assert source is not None, "a result block must follow a process block"
            found.append((source, inputs, body.splitlines()))
            source = None
    return found


EXAMPLES = examples()


def test_the_reference_has_an_example_per_construct() -> None:
    assert len(EXAMPLES) >= 20
    text = "\n".join(source for source, _, _ in EXAMPLES)
    for construct in (
        "process each",
        "ask ",
        "validate the following",
        "set the",
        "use the",
        "imagine a",
        "remove ",
        "subtract ",
        "convert ",
        "get ",
        "find ",
        "stop",
        "whose",
        "the above",
        "start a run",
        "wait for the runs",
        "run to",
        "where",
        "the result is",
        "{",
        # the phrasings of issue 15, each in a runnable example
        "the last name",
        "the first name",
        "the as of date",
        "the days to pay",
        "the ship to address",
        "the amount in dollars",
        "the total with tax",
        "use the last name as the order name",
        "get the document's first address as the shipping address",
        "the number of team members",
        "the number of the team members",
        "verify the qualifications of the applicant with",
        "get the answer",
        "get the answers",
        "the invoices' amounts",
        "the attachment is",
        "is between",
        "2%",
        "retrieve data from the runs",
        "the fact names are",
        "invoke make a pie with",
        'the above is "Not Found"',
        "the parts are the above",
        "now > 2026-",
        "sort the invoices by amount descending",
        "group the invoices by vendor",
        'filter the invoices by vendor equal to "Acme"',
        "total the invoices by amount",
        '"is active"',
        "is_active",
    ):
        assert construct in text, construct


@pytest.mark.parametrize(
    ("source", "inputs", "expected"), EXAMPLES, ids=[s.splitlines()[0] for s, _, _ in EXAMPLES]
)
def test_doc_example(tmp_path: Path, source: str, inputs: dict[str, Any], expected: list[str]) -> None:
    try:
        program = parse(source)
    except ProcessSyntaxError as err:
        assert [f"error {e.line}:{e.column}: {e.message}" for e in err.errors] == expected
        return
    env = LocalEnvironment(tmp_path, processes=[program])
    outcome = Execution.start(program, inputs, [], env).run()
    if isinstance(outcome, Paused):
        got = [*outcome.log, f"paused: {outcome.question}"]
    else:
        assert isinstance(outcome, Succeeded), outcome
        got = [*outcome.log, *(f"output {o['name']}: {o['value']}" for o in outcome.outputs)]
    assert got == expected
