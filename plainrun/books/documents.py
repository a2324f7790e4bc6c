"""Documents: the text of a PDF, and labelled fields such as ``Invoice Number: A-17``."""

from __future__ import annotations

import io
import re
from typing import Any

from plainrun.books.files import decode
from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.names import normalise
from plainrun.language.values import NOT_FOUND, FileRef

_LABELLED = re.compile(r"^\s*([A-Za-z][\w .#/()-]{0,60}?)\s*[:=]\s*(.+?)\s*$", re.MULTILINE)


def document_text(document: FileRef | str, env: Environment) -> str:
    if isinstance(document, str):
        return document
    data = env.read_file(document.id)
    if data[:5] == b"%PDF-" or document.name.lower().endswith(".pdf"):
        from pypdf import PdfReader

        try:
            reader = PdfReader(io.BytesIO(data))
            return "\n".join(page.extract_text() or "" for page in reader.pages)
        except Exception:  # pypdf's errors are about the bytes: say what the file is not
            raise ValueError(f"{document.name} is not a readable PDF") from None
    return decode(data)


@procedure("to extract the text of a (document)")
def extract_text(document: FileRef | str, env: Environment) -> str:
    return document_text(document, env)


@procedure("to extract the fields of a (document)")
def extract_fields(document: FileRef | str, env: Environment) -> dict[str, Any]:
    """Every ``Label: value`` line, as a record (the first value of a label wins)."""
    fields: dict[str, Any] = {}
    for label, value in _LABELLED.findall(document_text(document, env)):
        fields.setdefault(label.strip(), value)
    return fields


@procedure("to extract the field (label) from a (document)")
def extract_field(label: str, document: FileRef | str, env: Environment) -> Any:
    wanted = normalise(label)
    for found, value in _LABELLED.findall(document_text(document, env)):
        if normalise(found) == wanted:
            return value
    return NOT_FOUND
