"""The entry points of one group, read from the installed distributions' ``entry_points.txt``.

``importlib.metadata`` finds the same entry points, but its import loads the ``email`` package
(a fifth of the start-up of ``plainrun exec``) for metadata that finding entry points never reads.
This reads only what the lookup needs: each ``*.dist-info`` and ``*.egg-info`` folder on
``sys.path``, first on the path first, one distribution of a name once, as ``importlib.metadata``
orders them.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_INFO = re.compile(r"^(?P<name>.+?)(?:-[^-]*)?\.(?:dist|egg)-info$")


@dataclass(frozen=True)
class EntryPoint:
    """``name = module:attribute`` in the group's section of an ``entry_points.txt``."""

    name: str
    value: str

    def load(self) -> Any:
        module, _, attribute = self.value.partition(":")
        loaded: Any = importlib.import_module(module.strip())
        for part in filter(None, attribute.strip().split(".")):
            loaded = getattr(loaded, part)
        return loaded


def _sections(text: str) -> Iterator[tuple[str, str, str]]:
    """(section, name, value) of each ``name = value`` line of an INI text."""
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line:
            name, _, value = line.partition("=")
            yield section, name.strip(), value.strip()


def entry_points(group: str, path: Sequence[str] | None = None) -> list[EntryPoint]:
    """The entry points of ``group`` of every distribution on ``path`` (``sys.path``)."""
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in sys.path if path is None else path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for name in names:
            match = _INFO.match(name)
            if match is None:
                continue
            distribution = re.sub(r"[-_.]+", "-", match.group("name")).lower()
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(folder or ".", name, "entry_points.txt"), encoding="utf-8") as file:
                    text = file.read()
            except OSError:
                continue
            found.extend(
                EntryPoint(key, value) for section, key, value in _sections(text) if section == group
            )
    return found
