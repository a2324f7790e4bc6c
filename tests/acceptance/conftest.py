"""Acceptance fixtures: the real ``plainrun`` command in a subprocess, on a free port."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import migrated_sqlite

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    demo: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def plainrun(
        self, *args: str, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI against this server's database."""
        return subprocess.run(
            [str(BIN / "plainrun"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )


def start_server(
    tmp: Path, *extra: str, database_url: str | None = None, settings: dict[str, str] | None = None
) -> LiveServer:
    """Start ``plainrun serve``; ``settings`` are extra ``PLAINRUN_*`` variables for this server."""
    port = free_port()
    env = {
        **os.environ,
        "PLAINRUN_DATA_DIR": str(tmp / "var"),
        "PLAINRUN_DATABASE_URL": database_url or migrated_sqlite(tmp / "var"),
        "PLAINRUN_PORT": str(port),
        "PLAINRUN_SMTP_LISTEN_PORT": str(free_port()),
        **(settings or {}),
    }
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "plainrun"), "serve", "--examples", *extra],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded 2-core machine can take this long to import and start
    while True:
        try:
            if httpx.get(f"{url}/v2/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"plainrun serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    demo = {}
    for line in (tmp / "var" / "demo.env").read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        demo[name] = shlex.split(value)[0]
    return LiveServer(url=url, env=env, demo=demo, process=process, log=log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path)
    yield server
    stop_server(server)
