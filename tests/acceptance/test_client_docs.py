"""Every example of docs/client.md runs, in order as one script, against a live service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.acceptance.conftest import LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_the_examples_of_docs_client_md_run(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PLAINRUN_URL", "PLAINRUN_KEY", "AGENT_ID", "PROCESS_CHECK"):
        monkeypatch.setenv(name, live_server.url if name == "PLAINRUN_URL" else live_server.demo[name])
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "docs_client"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/client.md, example {number}", "exec"), namespace)
