"""The embedded database's durability setting reaches every connection that commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from plainrun.store.sqlite import SqliteStore


@pytest.mark.parametrize(("setting", "level"), [(None, 1), ("full", 2), ("NORMAL", 1)])
def test_sqlite_synchronous_follows_the_setting(
    setting: str | None, level: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if setting is None:
        monkeypatch.delenv("PLAINRUN_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("PLAINRUN_SQLITE_SYNCHRONOUS", setting)
    store = SqliteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with store.write() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == level
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.dispose()


def test_a_wrong_synchronous_setting_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAINRUN_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(ValueError, match="PLAINRUN_SQLITE_SYNCHRONOUS"):
        SqliteStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
