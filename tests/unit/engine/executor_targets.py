"""Targets the executor tests run in child processes (imported there by name)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Any


def echo(payload: dict[str, Any]) -> dict[str, Any]:
    return {"echo": payload, "pid": os.getpid()}


def pid(payload: dict[str, Any]) -> int:
    return os.getpid()


def fail(payload: dict[str, Any]) -> None:
    raise ValueError(f"bad input: {payload['n']}")


def spin(payload: dict[str, Any]) -> None:
    while True:
        pass


def sleep(payload: dict[str, Any]) -> str:
    time.sleep(payload.get("s", 60))
    return "slept"


def segfault(payload: dict[str, Any]) -> None:
    ctypes.string_at(0)


def exit_hard(payload: dict[str, Any]) -> None:
    os._exit(payload.get("code", 7))


def kill_self(payload: dict[str, Any]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def hog_memory(payload: dict[str, Any]) -> int:
    chunks = []
    for _ in range(payload.get("chunks", 64)):
        chunks.append(bytearray(64 * 1024 * 1024))
    return len(chunks)


def not_json(payload: dict[str, Any]) -> object:
    return object()


def sigint_self(payload: dict[str, Any]) -> str:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)
    return "survived"
