"""Fixtures for the language tests: a local environment and a helper that runs a source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from plainrun.language import Execution, LocalEnvironment, Outcome, parse

FIXED_NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def env(tmp_path: Path) -> LocalEnvironment:
    return LocalEnvironment(tmp_path / "files", clock=lambda: FIXED_NOW)


@pytest.fixture
def run(env: LocalEnvironment) -> Callable[..., Outcome]:
    def run_source(source: str, inputs: dict[str, Any] | None = None, **options: Any) -> Outcome:
        files = options.pop("files", [])
        return Execution.start(parse(source), inputs or {}, files, env, **options).run()

    return run_source
