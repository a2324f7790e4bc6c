"""Each chaos test works in ``test-artifacts/chaos-tmp/<test>/``: the logs of every process it
started stay there for a post-mortem, and no other pytest session's clean-up of its old temporary
folders can remove a database under a running test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.chaos.harness import ARTIFACTS


@pytest.fixture
def tmp_path(request: pytest.FixtureRequest) -> Path:
    path = ARTIFACTS / "chaos-tmp" / request.node.name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
