"""Migration 0016 on a database that already has what it forbids: processes of one agent that share
a name, and a run made into several test cases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from plainrun.store import migrate
from plainrun.store import schema as t
from tests.conftest import _admin, _pg_url

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (the template of the other tests is migrated already)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_template")  # PostgreSQL is there (or the test fails under CI=true)
    name = f"plainrun_t{os.getpid()}_m16"
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _admin(f"CREATE DATABASE {name}")
    yield _pg_url(name)
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_existing_duplicates_are_renamed_and_untied(empty_database: str) -> None:
    engine = sa.create_engine(empty_database)
    try:
        migrate.upgrade(engine, "0010")
        with engine.begin() as conn:
            for agent in ("a1", "a2"):
                conn.execute(sa.insert(t.agents).values(id=agent, name=agent, created_at=T0))
            conn.execute(sa.insert(t.sources).values(sha256="s" * 64, text="to check the vendor\n  say 1\n"))
            made = [
                ("p1", "a1", "Check the vendor", 0),
                ("p2", "a1", "check  the Vendor", 1),
                ("p3", "a1", "to check the vendor", 2),
                ("p4", "a1", "check the vendor (2)", 3),
                ("p5", "a2", "check the vendor", 0),
            ]
            for pid, agent, name, minutes in made:
                conn.execute(
                    sa.insert(t.processes).values(
                        id=pid,
                        agent_id=agent,
                        name=name,
                        description="",
                        draft_sha256="s" * 64,
                        draft_revision=1,
                        published_version=None,
                        settings={},
                        created_at=T0 + timedelta(minutes=minutes),
                        updated_at=T0,
                    )
                )
            for case, minutes in (("c1", 0), ("c2", 1)):
                conn.execute(
                    sa.insert(t.test_cases).values(
                        id=case,
                        agent_id="a1",
                        process_id="p1",
                        name=case,
                        inputs=[],
                        file_ids=[],
                        expected=[],
                        source_run_id="r1",
                        created_at=T0 + timedelta(minutes=minutes),
                    )
                )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t.processes.c.id, t.processes.c.name, t.processes.c.archived)).all()
            cases = dict(conn.execute(sa.select(t.test_cases.c.id, t.test_cases.c.source_run_id)).all())
        names = {pid: name for pid, name, _ in rows}
        assert names == {
            "p1": "Check the vendor",  # the oldest keeps its name
            "p2": "check  the Vendor (3)",  # "(2)" was already taken by p4
            "p3": "to check the vendor (4)",
            "p4": "check the vendor (2)",
            "p5": "check the vendor",  # another agent's
        }
        assert not any(archived for _, _, archived in rows)
        assert cases == {"c1": "r1", "c2": None}
    finally:
        engine.dispose()
