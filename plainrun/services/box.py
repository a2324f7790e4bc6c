"""The box: each agent's own key-value memory, for ``remember``/``recall`` in processes."""

from __future__ import annotations

from typing import Any

from plainrun.errors import InvalidInput
from plainrun.store import Store

MAX_KEY = 200


class BoxService:
    def __init__(self, store: Store):
        self.store = store

    def get(self, agent_id: str, key: str) -> Any:
        return self.store.box.get(agent_id, _key(key))

    def set(self, agent_id: str, key: str, value: Any) -> None:
        self.store.box.set(agent_id, _key(key), value)

    def delete(self, agent_id: str, key: str) -> None:
        self.store.box.delete(agent_id, _key(key))


def _key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput(f"A box key is 1 to {MAX_KEY} characters.")
    return key
