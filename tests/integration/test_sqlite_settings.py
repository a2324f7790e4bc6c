"""The embedded database's durability setting reaches every connection that commits."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import sqlalchemy as sa

from plainrun.services.container import store_for
from plainrun.settings import Settings
from plainrun.store.sqlite import SqliteDatabase


@pytest.mark.parametrize(("setting", "level"), [(None, 1), ("full", 2), ("NORMAL", 1)])
@pytest.mark.parametrize("fast", [True, False])
def test_sqlite_synchronous_follows_the_setting(
    setting: str | None, level: int, fast: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if setting is None:
        monkeypatch.delenv("PLAINRUN_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("PLAINRUN_SQLITE_SYNCHRONOUS", setting)
    monkeypatch.setenv("PLAINRUN_FAST", str(fast).lower())
    store = store_for(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))
    database = store.database  # type: ignore[attr-defined]
    assert isinstance(database, SqliteDatabase)
    try:
        with database.write() as tx:
            assert tx.scalar(_pragma("synchronous")) == level
            assert tx.scalar(_pragma("journal_mode")) == "wal"
    finally:
        store.dispose()


def _pragma(name: str) -> sa.TextualSelect:
    return sa.text(f"PRAGMA {name}").columns(sa.column(name))


def test_a_wrong_synchronous_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAINRUN_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(pydantic.ValidationError, match="sqlite_synchronous"):
        Settings()
