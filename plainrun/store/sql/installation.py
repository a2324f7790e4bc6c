"""The installation: what every host of it shares besides the data (its secret, the settings that
must agree between hosts), kept as named values."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from plainrun.store import schema as t
from plainrun.store.sql._part import Part, param

i = t.installation.c
_VALUE = sa.select(i.value).where(i.key == param(i.key))
_INSERT = sa.insert(t.installation)
_UPDATE = sa.update(t.installation).where(i.key == param(i.key, "b_key")).values(value=param(i.value))


class InstallationSql(Part):
    def secret(self) -> bytes:
        """The installation's own secret (made on first use, the same for every host)."""
        return bytes.fromhex(self.value("secret") or self.set_once("secret", secrets.token_hex(32)))

    def value(self, key: str) -> str | None:
        with self.db.read() as tx:
            found = tx.scalar(_VALUE, {"key": key})
        return str(found) if found is not None else None

    def set_once(self, key: str, value: str) -> str:
        """The value of ``key``: ``value`` if it had none, else the one it has (whoever set it first)."""
        with self.db.write() as tx:
            found = tx.scalar(_VALUE, {"key": key})
            if found is not None:
                return str(found)
            tx.run(_INSERT, {"key": key, "value": value})
        return value

    def set(self, key: str, value: str) -> None:
        with self.db.write() as tx:
            if tx.run(_UPDATE, {"b_key": key, "value": value}) == 0:
                tx.run(_INSERT, {"key": key, "value": value})
