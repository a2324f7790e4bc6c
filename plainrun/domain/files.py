"""Files: uploaded, received by e-mail or written by a process; their contents live in file storage."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

#: The longest file name kept (Kognitos's bound on ``file_name``).
NAME_MAX = 256
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


def clean_filename(name: str) -> str:
    """A file name safe to show and to offer as a download name (it is never used as a path)."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip(" .")
    name = name.lstrip(".") or "file"
    return name[:NAME_MAX]
