"""The specification's bounds on a run's name and outputs, fitted once for every way a run is made."""

from __future__ import annotations

import math
from typing import Any

import pytest

from plainrun.domain.bounds import NAME_MAX, fit_name, fit_outputs, fits, name_problem
from plainrun.domain.clock import utcnow
from plainrun.domain.runs import NewRun, Outcome, RunState, Stage, Trigger


def test_names_are_kept_within_1_to_100_characters() -> None:
    assert fit_name("Invoice 42") == "Invoice 42"
    assert fit_name("x" * NAME_MAX) == "x" * NAME_MAX
    cut = fit_name("word " * 40)
    assert len(cut) <= NAME_MAX and cut.endswith("…") and cut.startswith("word word")
    assert fit_name("", "greet a customer") == "greet a customer"
    assert fit_name(None) == "run" and fit_name("", "") == "run"
    assert name_problem("x" * 101) is not None and name_problem("") is not None
    assert name_problem(" ") is None  # the specification allows it


@pytest.mark.parametrize(
    ("value", "served"),
    [
        ("text", "text"),
        (2**70, 2**70),
        (1.5, 1.5),
        (True, "true"),
        (None, ""),
        (math.inf, "inf"),
        (math.nan, "nan"),
        (10**4001, str(10**4001)),  # beyond what the store keeps as a number: its digits
        (10**5000, "a whole number of more than 4000 digits"),  # beyond what Python prints
        ([1, 2], "[1,2]"),
        ({"a": 1}, '{"a":1}'),
    ],
    ids=[
        "text",
        "big",
        "float",
        "bool",
        "none",
        "inf",
        "nan",
        "4001-digits",
        "5000-digits",
        "list",
        "record",
    ],
)
def test_output_values_are_text_an_integer_or_a_number(value: Any, served: Any) -> None:
    [output] = fit_outputs([{"name": "total", "value": value}]) or []
    assert output == {"name": "total", "value": served}
    assert fits([output])


def test_every_new_run_and_every_outcome_is_fitted() -> None:
    new = NewRun(
        id="r" * 25,
        agent_id="a" * 25,
        process_id="p" * 25,
        name="Re: " * 60,  # an e-mail subject
        stage=Stage.PUBLISHED,
        version=1,
        sha256="0" * 64,
        inputs=[],
        file_ids=[],
        trigger=Trigger.EMAIL,
        max_attempts=1,
        timeout_s=1.0,
        created_at=utcnow(),
    )
    assert 90 < len(new.name) <= NAME_MAX
    outputs = [{"name": "a fact named at length " * 10, "value": 1}, {"name": "", "value": math.inf}]
    outcome = Outcome("r" * 25, 1, RunState.SUCCEEDED, outputs=outputs)
    assert outcome.outputs is not None
    assert [o["name"][:10] for o in outcome.outputs] == ["a fact nam", "output"]
    assert len(outcome.outputs[0]["name"]) <= NAME_MAX and outcome.outputs[0]["name"].endswith("…")
    assert outcome.outputs[1]["value"] == "inf"
    plain = [{"name": "total", "value": 3}]
    assert Outcome("r" * 25, 1, RunState.SUCCEEDED, outputs=plain).outputs is plain  # nothing to fit
