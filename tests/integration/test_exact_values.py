"""Every value kept exactly or refused saying why, against the server ``plainrun serve`` runs (uvicorn
with plainrun's protocol, a worker inside) on SQLite and PostgreSQL: numbers with a fraction that a
double does not hold as written are refused on every path that takes values in (the fast path, the
route, schedules, settings, guidance answers), the ones it holds are served back as sent, and whole
numbers the language computes beyond 10^30 come back exact from the engine, the store, the API, the
Python client, the command line (both ways, ``--json``) and the Test Suite's comparison."""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from plainrun.client import Client
from plainrun.engine.worker import WorkerConfig
from plainrun.http import create_app
from plainrun.http.server import protocol
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services, build_services
from plainrun.settings import Settings

#: 2**140 by 140 multiplications; the outputs beyond 10^30 and 64 bits that a test case compares.
POWER = (
    "to compute a power\n"
    '  split the twos by ","\n'
    "  the factors are the above\n"
    "  the power is 1\n"
    "  process each factor in the factors as follows\n"
    "    set the power to the power * the factor\n"
    "  the output power is the power{plus}\n"
    "  the output literal is 1234567890123456789012345678901234567890\n"
    "  the output amount is the amount * 1\n"
)
TWOS = ",".join(["2"] * 140)
#: Numbers with a fraction a 64-bit double does not hold as written, and what each would become.
LOST = [
    ("3.14159265358979323846264338", "3.141592653589793"),
    ("0.1000000000000000000001", "0.1"),
    ("12345678.123456789", "12345678.12345679"),
    ("1e-400", "0.0"),
]
_names = itertools.count()


@dataclass
class Served:
    url: str
    http: httpx.Client
    services: Services
    agent_id: str
    key: str

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"x-api-key": self.key, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def raw(self, method: str, path: str, body: str, **headers: str) -> httpx.Response:
        return self.call(
            method, path, content=body.encode(), headers={"content-type": "application/json", **headers}
        )

    def process(self, source: str) -> str:
        body = {"agent_id": self.agent_id, "source": source, "name": f"exact {next(_names)}"}
        made = self.call("POST", "/v2/processes", json=body)
        assert made.status_code == 201, made.text
        assert self.call("POST", f"/v2/processes/{made.json()['id']}/publish").status_code == 201
        return str(made.json()["id"])

    def start(self, process_id: str, inputs: Any) -> dict[str, Any]:
        body = {"name": "r", "process_id": process_id, "agent_id": self.agent_id, "stage": "Published"}
        started = self.call("POST", "/v2/runs", json=body | {"inputs": inputs})
        assert started.status_code == 201, started.text
        return started.json()  # type: ignore[no-any-return]

    def finished(self, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 90
        while True:
            run = self.call("GET", f"/v2/runs/{run_id}").json()
            if run["state"] not in ("Pending", "Running") or time.monotonic() > deadline:
                return run  # type: ignore[no-any-return]
            time.sleep(0.1)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, key_cache_s=0)
    services = build_services(settings, migrate=True)
    agent = services.store.agents.create("acme")
    _, key = services.keys.create(agent_id=agent.id)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(
        settings, services=services, worker=WorkerConfig(executor_size=1, concurrency=2, poll_s=0.2)
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, http=protocol(settings), log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=60) as http:
        yield Served(url, http, services, agent.id, key)
    server.should_exit = True
    thread.join(30)
    services.close()


def _refused(answer: httpx.Response, text: str, becomes: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == {"status_code", "message", "details"} and body["status_code"] == 400
    assert body["message"] == (
        "Invalid input values: numbers with a fraction are kept as 64-bit doubles:"
        f" {text} would become {becomes}"
    )


def test_a_fraction_a_double_does_not_hold_is_refused_on_every_path_in(served: Served) -> None:
    process_id = served.process(POWER.format(plus=""))
    schedule = served.call(
        "POST",
        "/v2/schedules",
        json={
            "agent_id": served.agent_id,
            "process_id": process_id,
            "name": "s",
            "kind": "hourly",
            "inputs": {"twos": "2", "amount": 1},
        },
    )
    assert schedule.status_code == 201, schedule.text
    run = (
        f'{{"name": "r", "process_id": "{process_id}", "agent_id": "{served.agent_id}", "stage": "Published"'
    )
    for text, becomes in LOST:
        listed = f'[{{"name": "amount", "value": {text}}}]'
        paths = [
            ("POST", "/v2/runs", f'{run}, "inputs": {listed}}}', {}),  # the fast path
            ("POST", "/v2/runs", f'{run}, "inputs": {{"amount": {text}}}}}', {}),
            (
                "POST",
                "/v2/runs",
                f'{run}, "inputs": {listed}}}',
                {"Idempotency-Key": f"k-{text}"},
            ),  # the route
            (
                "POST",
                "/v2/schedules",
                f'{{"agent_id": "{served.agent_id}", "process_id": "{process_id}", "name": "t", '
                f'"kind": "hourly", "inputs": {listed}}}',
                {},
            ),
            ("PATCH", f"/v2/schedules/{schedule.json()['id']}", f'{{"inputs": {{"amount": {text}}}}}', {}),
            ("PATCH", f"/v2/processes/{process_id}", f'{{"settings": {{"timeout_s": {text}}}}}', {}),
            ("POST", f"/v2/runs/{'0' * 26}/guidance", f'{{"action": "value", "value": {text}}}', {}),
        ]
        for method, path, body, headers in paths:
            _refused(served.raw(method, path, body, **headers), text, becomes)
    listed_runs = served.call(
        "GET", "/v2/runs", params={"process_id": process_id, "agent_id": served.agent_id}
    )
    assert listed_runs.json()["items"] == []  # nothing was started with a rounded number
    kept = served.call("GET", f"/v2/schedules/{schedule.json()['id']}").json()
    assert kept["inputs"] == [{"name": "twos", "value": "2"}, {"name": "amount", "value": 1}]
    assert served.call("GET", f"/v2/processes/{process_id}").json()["settings"]["timeout_s"] is None


def test_numbers_that_are_kept_are_served_back_exactly_as_sent(served: Served) -> None:
    process_id = served.process(POWER.format(plus=""))
    values = ["0.1", "-2.5", "1.5e3", "1e-300", "12345678.12345679", "1e20", "-0.0", str(2**64), "9" * 4000]
    inputs = ", ".join(f'{{"name": "v{i}", "value": {v}}}' for i, v in enumerate(values))
    run = (
        f'{{"name": "r", "process_id": "{process_id}", "agent_id": "{served.agent_id}", "stage": "Published"'
    )
    started = served.raw(
        "POST", "/v2/runs", f'{run}, "inputs": [{inputs}, {{"name": "twos", "value": "{TWOS}"}}]}}'
    )
    assert started.status_code == 201, started.text
    expected = [
        {"name": f"v{i}", "value": float(v) if "." in v or "e" in v else int(v)} for i, v in enumerate(values)
    ]
    expected.append({"name": "twos", "value": TWOS})
    with Client(served.url, key=served.key) as client:
        for answer in (
            started.json(),
            served.call("GET", f"/v2/runs/{started.json()['id']}").json(),
            served.call(
                "GET", "/v2/runs", params={"process_id": process_id, "agent_id": served.agent_id}
            ).json()["items"][0],
            client.get_run(started.json()["id"]).wire(),
        ):
            assert answer["inputs"] == expected
            assert [type(i["value"]) for i in answer["inputs"]] == [type(i["value"]) for i in expected]
            assert math.copysign(1, answer["inputs"][6]["value"]) == 1  # -0.0 is 0.0 on both databases


def test_whole_numbers_beyond_10_to_the_30_are_exact_from_the_language_to_the_test_suite(
    served: Served,
) -> None:
    process_id = served.process(POWER.format(plus=""))
    text = "3" + "0" * 60 + "7"  # a number written as text: read exactly by the language
    run = served.finished(served.start(process_id, {"twos": TWOS, "amount": text})["id"])
    assert run["state"] == "Succeeded", run
    expected = [
        {"name": "power", "value": 2**140},
        {"name": "literal", "value": 1234567890123456789012345678901234567890},
        {"name": "amount", "value": int(text)},
    ]
    with Client(served.url, key=served.key) as client:
        answers = [run, client.get_run(run["id"]).wire()]
        answers.append(
            served.call(
                "GET", "/v2/runs", params={"process_id": process_id, "agent_id": served.agent_id}
            ).json()["items"][0]
        )
        for answer in answers:
            assert answer["outputs"] == expected
            assert {type(o["value"]) for o in answer["outputs"]} == {int}
    assert served.services.runs.get(SYSTEM, run["id"]).outputs == expected  # as the store keeps it
    # A test case keeps 2**140; a version giving 2**140 + 1 fails it, and the diff shows both exactly.
    added = served.call("POST", "/v2/test-cases", json={"run_ids": [run["id"]]})
    assert added.status_code == 200, added.text
    assert (
        served.call(
            "PATCH", f"/v2/processes/{process_id}", json={"source": POWER.format(plus=" + 1")}
        ).status_code
        == 200
    )
    assert served.call("POST", f"/v2/processes/{process_id}/publish").status_code == 201
    test_run = served.call(
        "POST", "/v2/test-runs", json={"agent_id": served.agent_id, "process_ids": [process_id]}
    )
    assert test_run.status_code == 201, test_run.text
    deadline = time.monotonic() + 90
    while (judged := served.call("GET", f"/v2/test-runs/{test_run.json()['id']}").json())[
        "state"
    ] == "Running":
        assert time.monotonic() < deadline, judged
        time.sleep(0.2)
    (result,) = judged["results"]
    assert result["status"] == "Failed", result
    assert result["diff"] == [
        {"problem": "Output Mismatch", "name": "power", "expected": 2**140, "actual": 2**140 + 1}
    ]


def test_the_command_line_sends_and_prints_them_exactly_both_ways(
    served: Served, database_url: str, tmp_path: Path
) -> None:
    process_id = served.process(POWER.format(plus=""))
    amount = "9" * 50  # given as text by --input: read exactly by the language
    base = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "COLUMNS": "200"}
    ways = {
        "database": {**base, "PLAINRUN_DATABASE_URL": database_url, "PLAINRUN_DATA_DIR": str(tmp_path)},
        "url": {
            **base,
            "PLAINRUN_URL": served.url,
            "PLAINRUN_KEY": served.key,
            "PLAINRUN_DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere.db'}",
            "PLAINRUN_DATA_DIR": str(tmp_path / "elsewhere"),
        },
    }
    for way, env in ways.items():
        command = [str(Path(sys.executable).parent / "plainrun"), "runs", "start", process_id]
        command += ["--input", f"twos={TWOS}", "--input", f"amount={amount}", "--wait", "--json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (way, done.stdout, done.stderr)
        run_id = json.loads(done.stdout)["id"]
        got = subprocess.run(
            [*command[:2], "get", run_id, "--json"], env=env, capture_output=True, text=True, timeout=300
        )
        assert got.returncode == 0, (way, got.stdout, got.stderr)
        printed = json.loads(got.stdout)
        assert printed["inputs"] == [{"name": "twos", "value": TWOS}, {"name": "amount", "value": amount}]
        assert printed["outputs"] == [
            {"name": "power", "value": 2**140},
            {"name": "literal", "value": 1234567890123456789012345678901234567890},
            {"name": "amount", "value": int(amount)},
        ], way
