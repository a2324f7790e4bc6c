"""The specification's bounds on what a run carries, in one place: every path that makes a run fits
its name here (API, CLI, UI, e-mail, schedule, re-run, test suite, child runs), every outcome its
outputs, and the API renders through the same functions, so nothing served breaks a ``maxLength``,
``minLength`` or type of ``tests/spec/runs-v2.openapi.json``.

Where a person can be told at once (the API's and the CLI's own arguments), a value over its bound
is refused instead; here it is fitted, because an e-mail subject or a process's fact name cannot be
sent back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from plainrun.domain import storable

#: ``RunResource.name``, ``RunInput.name``, ``RunOutput.name``: 1 to 100 characters.
NAME_MAX = 100
_CUT = "…"


def name_problem(name: str) -> str | None:
    """Why a name a person gives cannot be a run's name, or None."""
    if not name:
        return "a name must not be empty"
    if len(name) > NAME_MAX:
        return f"a name has at most {NAME_MAX} characters (this one has {len(name)})"
    return None


def fit_name(name: str | None, fallback: str = "run") -> str:
    """``name`` as a run's or an output's name may be: an empty one becomes ``fallback``, a long one
    is cut to ``NAME_MAX`` characters ending with an ellipsis."""
    if not name:
        name = fallback or "run"
    if len(name) <= NAME_MAX:
        return name
    return name[: NAME_MAX - len(_CUT)].rstrip() + _CUT


def fit_value(value: Any) -> str | int | float:
    """An output's value as the specification types it (text, an integer or a number): what JSON
    cannot hold exactly (NaN, infinities, whole numbers beyond the store's digits) becomes its text,
    and so do true/false, nothing, lists and records."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if storable.number_problem(value) is None else _digits(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None:
        return ""
    try:
        return storable.dumps(value).decode()
    except (TypeError, ValueError):
        return str(value)


def _digits(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # past Python's own bound on printing a whole number
        return f"a whole number of more than {storable.MAX_DIGITS} digits"


def fit_outputs(outputs: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Outputs as ``RunOutput`` allows them: each a name of 1 to 100 characters and a value."""
    if outputs is None:
        return None
    fitted = []
    for output in outputs:
        name, value = output.get("name"), output.get("value")
        fitted.append(
            {"name": fit_name(name if isinstance(name, str) else None, "output"), "value": fit_value(value)}
        )
    return fitted


def fits(outputs: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether outputs are as :func:`fit_outputs` makes them already (the quick check when serving)."""
    for output in outputs or ():
        name, value = output.get("name"), output.get("value")
        if not isinstance(name, str) or name_problem(name) is not None:
            return False
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return False
        if not isinstance(value, str) and storable.number_problem(value) is not None:
            return False
    return True
