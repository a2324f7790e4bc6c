"""Files: uploaded, received by e-mail or written by a process; their contents live in file storage."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: str
    agent_id: str
    #: A display name only: contents are stored by id, never under this name.
    name: str
    content_type: str
    size: int | None
    sha256: str | None
    #: Whether its contents arrived.
    ready: bool
    created_at: datetime


#: Unicode categories replaced like control characters: C1 controls, line and paragraph separators
#: (U+2028, U+2029) and lone surrogates.
_REPLACED = frozenset({"Cc", "Zl", "Zp", "Cs"})


def clean_filename(name: str) -> str:
    """A file name safe to show and to offer as a download name (it is never used as a path).

    Format characters (category Cf: bidi overrides such as U+202E, zero-width characters, U+FEFF)
    are dropped, so that a name shows what it is; other invisible characters become ``_``.
    """
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        "" if kind == "Cf" else "_" if kind in _REPLACED else char
        for char in name
        if (kind := unicodedata.category(char))
    )
    name = _UNSAFE.sub("_", name).strip(" .")
    name = name.lstrip(".") or "file"
    return name[:255]
