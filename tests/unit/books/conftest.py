"""Fixtures for the built-in books: run a process body in a local environment."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from plainrun.domain.outbound import OutboundPolicy
from plainrun.language import Execution, LocalEnvironment, Outcome, Succeeded, parse


@pytest.fixture
def env(tmp_path: Path) -> LocalEnvironment:
    # The HTTP book's tests talk to servers on this machine: the installation allows loopback.
    return LocalEnvironment(tmp_path / "files", outbound=OutboundPolicy(allow=(ip_network("127.0.0.0/8"),)))


@pytest.fixture
def run_body(env: LocalEnvironment) -> Callable[..., Outcome]:
    def run(body: str, inputs: dict[str, Any] | None = None, files: list[Any] | None = None) -> Outcome:
        source = "to go\n" + "".join(f"  {line}\n" for line in body.strip("\n").splitlines())
        return Execution.start(parse(source), inputs or {}, files or [], env).run()

    return run


@pytest.fixture
def log_of(run_body: Callable[..., Outcome]) -> Callable[..., list[str]]:
    def log(body: str, inputs: dict[str, Any] | None = None, files: list[Any] | None = None) -> list[str]:
        outcome = run_body(body, inputs, files)
        assert isinstance(outcome, Succeeded), outcome
        return outcome.log

    return log
