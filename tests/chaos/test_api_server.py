"""SIGKILL the API server while clients start runs: every run that got a 201 exists and finishes, and
clients that retry with an Idempotency-Key never start a run twice.

``plainrun serve --no-worker`` on PostgreSQL with a separate ``plainrun worker``; sixteen clients post
runs (eight plain, eight that send each run with a key of its own and retry it, same key, until it is
answered); the server's process group is killed mid-traffic (twice; once in the short form) and
started again on the same port. Figures in ``test-artifacts/chaos-api-server.json``.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.chaos.clients import Clients
from tests.chaos.harness import (
    Installation,
    Sink,
    chaos_runs,
    check_runs_ended_once,
    cluster,
    free_port,
    summary,
    wait_for,
    wait_healthy,
    write_artifact,
)

#: Kills of the server: two in full, one in the short form of ``make test``.
KILLS = 2 if chaos_runs() >= 1000 else 1


@pytest.mark.postgres
def test_every_run_acknowledged_before_an_api_server_is_killed_exists(pg_url: str, tmp_path: Path) -> None:
    inst = Installation.create(pg_url, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    outages: list[float] = []
    with Sink(delay=0.05) as sink, cluster(pg_url, tmp_path) as c:
        c.start("worker", "worker", "--executors", "2")
        server = c.serve(port, "--no-worker")
        wait_healthy(url, 60, server)
        # Sixteen clients, so that requests are in flight most of the time: one takes a few
        # milliseconds, and a kill must cut some off mid-way.
        with (
            Clients(inst, url, sink.url, n=8) as clients,
            Clients(inst, url, sink.url, n=8, retry_with_key=True) as keyed,
        ):
            kills = 0
            # A kill can fall between requests: kill again (a few times at most) until one of each
            # kind of client was cut off.
            while kills < KILLS or (min(_cut_off(clients), _cut_off(keyed)) == 0 and kills < KILLS + 5):
                kills += 1
                before = clients.count(201)
                wait_for(lambda b=before: clients.count(201) >= b + 30, 60, "30 more runs to be started")
                killed_at = server.kill_group()
                server = c.serve(port, "--no-worker")
                wait_healthy(url, 60, server)
                wait_for(lambda k=killed_at: clients.first(201, after=k) is not None, 30, "a 201 again")
                first = clients.first(201, after=killed_at)
                assert first is not None
                outages.append(first - killed_at)
            time.sleep(1.0)  # traffic on the last server
        acked, keyed_acked = clients.acknowledged(), keyed.acknowledged()
        failures = Counter(p.error for p in clients.posted + keyed.posted if p.status is None)
        cut, keyed_cut = _cut_off(clients), _cut_off(keyed)
        assert not clients.malformed + keyed.malformed, (clients.malformed + keyed.malformed)[:5]
        wait_for(lambda: inst.unfinished() == 0, 120, "every run to end", every=0.5)
    runs = check_runs_ended_once(inst, set(acked) | set(keyed_acked))
    inst.close()
    assert all(runs[run_id]["name"] == tag for run_id, tag in {**acked, **keyed_acked}.items())
    # Nothing appears that no client asked for, and no request (nor any retry of one) started two runs.
    names = [r["name"] for r in runs.values()]
    assert len(names) == len(set(names))
    assert set(names) <= {p.tag for p in clients.posted + keyed.posted}
    # A keyed run answered at all was answered with one run, the one the database holds for its tag;
    # those cut off mid-way (the server may have written the run before it died) and then answered
    # on a retry are the ones the key is for.
    by_name = {r["name"]: run_id for run_id, r in runs.items()}
    retried_after_cut_off = 0
    for tag, attempts in keyed.answers_by_tag().items():
        answered = {p.run_id for p in attempts if p.run_id}
        assert len(answered) <= 1, f"{tag} was answered with several runs: {answered}"
        if answered:
            assert answered == {by_name[tag]}
            retried_after_cut_off += any(p.status is None and p.error != "ConnectError" for p in attempts)
    assert cut > 0, f"no request was cut off mid-way: the kills missed the traffic ({failures})"
    assert keyed_cut > 0 and retried_after_cut_off > 0, "no keyed request was cut off and answered on a retry"
    write_artifact(
        "api-server",
        {
            "kills": KILLS,
            "acknowledged_201": len(acked),
            "requests_cut_off_mid_way": cut,
            "requests_failed_by_error": dict(failures),
            "cut_off_requests_that_still_started_a_run": len([n for n in names if n.startswith("c")])
            - len(acked),
            "keyed_runs_acknowledged": len(keyed_acked),
            "keyed_requests_cut_off_mid_way": keyed_cut,
            "keyed_runs_answered_after_a_retry_of_a_cut_off_request": retried_after_cut_off,
            "keyed_runs_started_twice": 0,
            "kill_to_next_201_s": summary(outages),
        },
    )


def _cut_off(clients: Clients) -> int:
    """Requests a kill cut off mid-way (not refused because no server was listening)."""
    return sum(1 for p in list(clients.posted) if p.status is None and p.error != "ConnectError")
