"""The PostgreSQL pool hands out live connections, pinging only those that sat idle."""

from __future__ import annotations

import time

import psycopg
import pytest
import sqlalchemy as sa

from plainrun.errors import StoreUnavailable
from plainrun.store import open_store, postgres
from tests.conftest import PG_ADMIN
from tests.contract.conftest import make_runs

pytestmark = pytest.mark.postgres


def _kill_connections(database: str) -> int:
    """What a server restart does to the pool: every connection to ``database`` is cut."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


def test_connections_cut_while_idle_are_replaced_unseen_and_busy_ones_fail_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "PING_AFTER_IDLE_S", 0.2)
    store = open_store(pg_url)
    database = sa.engine.make_url(pg_url).database
    try:
        (run_id,) = make_runs(store, 1)
        # Idle for longer than the ping interval: the pool pings, finds them dead and replaces them.
        assert _kill_connections(database) >= 1
        time.sleep(0.3)
        assert store.runs.get(run_id) is not None
        # Used a moment ago, so handed out without a ping: the call fails with the store's own
        # error (a 503 at the API), the driver marks the connection broken and it is replaced.
        monkeypatch.setattr(postgres, "PING_AFTER_IDLE_S", 60.0)
        assert _kill_connections(database) >= 1
        with pytest.raises(StoreUnavailable):
            store.runs.get(run_id)
        assert store.runs.get(run_id) is not None
    finally:
        store.dispose()
