"""Every example in docs/language.md runs and produces the result written beside it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from plainrun.language import Execution, LocalEnvironment, Paused, Succeeded, parse

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
    ):
        assert construct in text, construct


@pytest.mark.parametrize(
    ("source", "inputs", "expected"), EXAMPLES, ids=[s.splitlines()[0] for s, _, _ in EXAMPLES]
)
def test_doc_example(tmp_path: Path, source: str, inputs: dict[str, Any], expected: list[str]) -> None:
    program = parse(source)
    env = LocalEnvironment(tmp_path, processes=[program])
    outcome = Execution.start(program, inputs, [], env).run()
    if isinstance(outcome, Paused):
        got = [*outcome.log, f"paused: {outcome.question}"]
    else:
        assert isinstance(outcome, Succeeded), outcome
        got = [*outcome.log, *(f"output {o['name']}: {o['value']}" for o in outcome.outputs)]
    assert got == expected
