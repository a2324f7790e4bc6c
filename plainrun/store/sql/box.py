"""The per-agent key-value box (``remember``/``recall`` of the books)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from plainrun.domain.clock import utcnow
from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param

b = t.box.c
_KEY = (b.agent_id == param(b.agent_id, "w_agent"), b.key == param(b.key, "w_key"))
_GET = sa.select(b.value).where(*_KEY)
_UPDATE = sa.update(t.box).where(*_KEY).values(value=param(b.value), updated_at=param(b.updated_at))
_INSERT = sa.insert(t.box)
_DELETE = sa.delete(t.box).where(*_KEY)


class BoxSql(Part):
    def get(self, agent_id: str, key: str) -> Any:
        with self.db.read() as tx:
            return tx.scalar(_GET, {"w_agent": agent_id, "w_key": key})

    def set(self, agent_id: str, key: str, value: Any) -> None:
        now = utcnow()
        with self.db.write() as tx:
            where = {"w_agent": agent_id, "w_key": key}
            if tx.run(_UPDATE, {**where, "value": value, "updated_at": now}) == 0:
                tx.run(_INSERT, {"agent_id": agent_id, "key": key, "value": value, "updated_at": now})

    def delete(self, agent_id: str, key: str) -> None:
        with self.db.write() as tx:
            tx.run(_DELETE, {"w_agent": agent_id, "w_key": key})
