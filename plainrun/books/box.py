"""The box: a per-agent key-value store that keeps data between runs."""

from __future__ import annotations

from typing import Any

from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.values import NOT_FOUND, from_json, to_json


@procedure("to remember a (value) as (key)")
def remember(value: Any, key: str, env: Environment) -> Any:
    env.box_set(key, to_json(value))
    return value


@procedure("to recall (key)")
def recall(key: str, env: Environment) -> Any:
    stored = env.box_get(key)
    return NOT_FOUND if stored is None else from_json(stored)


@procedure("to forget (key)")
def forget(key: str, env: Environment) -> None:
    env.box_delete(key)
