"""Files: uploaded, received by e-mail or written by a process; their contents live in file storage."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

#: The longest file name kept (Kognitos's bound on ``file_name``).
NAME_MAX = 256
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
#: RFC 6838's characters of a type and a subtype name, at most 127 each.
_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(rf"{_NAME}/{_NAME}")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_CONTENT_TYPE = 255


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
    return name[:NAME_MAX]


def clean_content_type(value: str) -> str:
    """A content type safe to keep and to send back as a header: ``type/subtype`` in RFC 6838's
    characters, lowercased, with its parameters when they are printable ASCII (else without them);
    anything else (non-ASCII characters, line breaks, no subtype) is ``application/octet-stream``."""
    media, _, parameters = value.partition(";")
    media = media.strip().lower()
    if not media.isascii() or not _MEDIA_TYPE.fullmatch(media):
        return DEFAULT_CONTENT_TYPE
    parameters = parameters.strip()
    whole = f"{media}; {parameters}"
    if parameters and _PRINTABLE.fullmatch(parameters) and len(whole) <= MAX_CONTENT_TYPE:
        return whole
    return media
