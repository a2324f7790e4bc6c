"""Idempotency keys: a key and the runs its first request started, written in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from plainrun.domain.idempotency import KeyRecord
from plainrun.domain.runs import NewRun
from plainrun.errors import Conflict
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param
from plainrun.store.sql.runs import insert_runs

k = t.idempotency_keys.c
_WHICH = (k.agent_id == param(k.agent_id), k.key == param(k.key))
_LIVE = sa.select(t.idempotency_keys).where(*_WHICH, k.expires_at > param(k.expires_at, "now"))
_EXPIRED_ONE = sa.delete(t.idempotency_keys).where(*_WHICH, k.expires_at <= param(k.expires_at, "now"))
_SWEEP = sa.delete(t.idempotency_keys).where(k.expires_at <= param(k.expires_at, "now"))
_NEW = {
    "sqlite": sqlite.insert(t.idempotency_keys).on_conflict_do_nothing().returning(k.key),
    "postgresql": postgresql.insert(t.idempotency_keys).on_conflict_do_nothing().returning(k.key),
}


class IdempotencySql(Part):
    def get(self, agent_id: str, key: str, *, now: datetime) -> KeyRecord | None:
        """The key, unless it is unknown or expired."""
        with self.db.read() as tx:
            row = tx.first(_LIVE, {"agent_id": agent_id, "key": key, "now": now})
        return KeyRecord(**row) if row else None

    def start(self, record: KeyRecord, new_runs: Sequence[NewRun]) -> KeyRecord | None:
        """Keep a key with the runs its request starts, in one transaction: None when this request
        was the first (the runs were written), else the key as another request kept it first (and
        nothing was written). An expired key is replaced."""
        which = {"agent_id": record.agent_id, "key": record.key}
        with self.db.write() as tx:
            tx.run(_EXPIRED_ONE, {**which, "now": record.created_at})
            if tx.rows(_NEW[tx.dialect], asdict(record)):
                insert_runs(tx, new_runs)
                return None
            row = tx.first(_LIVE, {**which, "now": record.created_at})
        if row is None:  # the key that won expired at once (hosts' clocks a day apart)
            raise Conflict("The Idempotency-Key is in use by another request; try again.")
        return KeyRecord(**row)

    def sweep(self, now: datetime) -> int:
        """Forget every expired key; how many."""
        with self.db.write() as tx:
            return tx.run(_SWEEP, {"now": now})
