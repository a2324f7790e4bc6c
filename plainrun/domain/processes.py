"""Processes: one id across stages, an editable draft and immutable published versions, and the
settings a process carries."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plainrun.errors import InvalidInput

#: Settings a process may carry, with their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "on_exception": "pause",  # or "fail"
    "timeout_s": None,  # None: the service default
    "max_concurrency": None,  # at most this many runs Running at once; None: no limit
}
MAX_CONCURRENCY = 100_000
#: The largest version number (versions are 32-bit integers in every database).
MAX_VERSION = 2**31 - 1
#: The longest ``timeout_s`` unless the installation says otherwise (``max_run_timeout_s``).
MAX_TIMEOUT_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Process:
    id: str
    agent_id: str
    name: str
    description: str
    draft_sha256: str
    draft_revision: int
    published_version: int | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    #: At most this many runs Running at once (``settings["max_concurrency"]``); None: no limit.
    max_concurrent_runs: int | None = None
    #: Out of the list of processes; its runs are kept.
    archived: bool = False


@dataclass(frozen=True, slots=True)
class ProcessVersion:
    process_id: str
    version: int
    sha256: str
    created_at: datetime
    #: False when publishing made no version: the draft equalled this, the latest version.
    created: bool = True


@dataclass(frozen=True, slots=True)
class Runnable:
    """What a run of a process starts from now: the version of a stage and its source's hash."""

    process_id: str
    name: str
    stage: str
    version: int
    sha256: str
    settings: dict[str, Any]


def check_settings(settings: dict[str, Any], *, max_timeout_s: float = MAX_TIMEOUT_S) -> dict[str, Any]:
    """Settings as given, checked: only known ones, each of its kind; ``timeout_s`` a finite number
    of seconds up to ``max_timeout_s`` (the installation's ``max_run_timeout_s``)."""
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown:
        raise InvalidInput("Unknown process settings.", details=[("settings", ", ".join(sorted(unknown)))])
    if settings.get("on_exception") not in (None, "pause", "fail"):
        raise InvalidInput("on_exception must be 'pause' or 'fail'.")
    timeout = settings.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not 0 < timeout <= max_timeout_s
    ):
        raise InvalidInput(
            f"timeout_s must be a positive number of seconds, at most {max_timeout_s:g} "
            "(PLAINRUN_MAX_RUN_TIMEOUT_S).",
            details=[("timeout_s", str(timeout)[:100])],
        )
    limit = settings.get("max_concurrency")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CONCURRENCY
    ):
        raise InvalidInput(
            f"max_concurrency must be a whole number from 1 to {MAX_CONCURRENCY} (or null for no limit).",
            details=[("max_concurrency", str(limit)[:100])],
        )
    return settings


def run_timeout(settings: dict[str, Any], default: float) -> float:
    """A run's maximum execution time: its process's ``timeout_s``, else the service's default."""
    return float(settings.get("timeout_s") or default)


def check_name(name: str, limit: int = 100) -> str:
    """A process name as given, stripped; an empty one or one over ``limit`` is refused, never cut."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("A process needs a name.", details=[("name", "the name is empty")])
    if len(name) > limit:
        raise InvalidInput(
            f"The name is {len(name)} characters long; the limit is {limit}.",
            details=[("name", f"at most {limit} characters")],
        )
    return name


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a comparison: ``same``, ``removed`` (only in the old text) or ``added``."""

    kind: str
    old_number: int | None
    new_number: int | None
    text: str


def compare_sources(old: str, new: str) -> list[DiffLine]:
    """Every line of two texts, each marked as the same in both, removed from the old or added."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(DiffLine("same", i1 + k + 1, j1 + k + 1, a[i1 + k]) for k in range(i2 - i1))
            continue
        out.extend(DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2))
        out.extend(DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2))
    return out
