"""What every database (and every JSON encoder on the way) keeps: text without NUL characters or
lone surrogates, whole numbers within 64 bits, finite numbers.

A value a client sends is checked with :func:`problem` and refused when it is not storable (a 400,
never a 500 from the database or the encoder); text that arrives from outside without a caller to
refuse it (e-mail headers and bodies) is made storable with :func:`clean_text`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

#: The whole numbers every backend and encoder keeps (SQL BIGINT, JSON through orjson).
MIN_INT, MAX_INT = -(2**63), 2**63 - 1
#: Deeper than this, a value is refused rather than walked (JSON bodies are bounded before this).
MAX_DEPTH = 64
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored, or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters are not allowed in text"
    return "text must be valid Unicode (a lone surrogate is not)"


def number_problem(value: int | float) -> str | None:
    """Why a number cannot be stored, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if MIN_INT <= value <= MAX_INT else "whole numbers must fit in 64 bits"
    return None if math.isfinite(value) else "numbers must be finite"


def problem(value: Any) -> str | None:
    """Why a JSON-like value (text, numbers, lists, records at any depth, keys too) cannot be
    stored, or None when it can."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"values may be nested at most {MAX_DEPTH} deep"
        found = None
        if isinstance(item, str):
            found = text_problem(item)
        elif isinstance(item, int | float):
            found = number_problem(item)
        elif isinstance(item, Mapping):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((child, depth + 1) for child in item)
        if found is not None:
            return found
    return None


def clean_text(text: str) -> str:
    """Text as it can be stored: bytes that were not UTF-8 (kept by a decoder as lone surrogates)
    are read as UTF-8 where they are, else replaced, and NUL characters are dropped."""
    if not _UNSTORABLE.search(text):
        return text
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        text = _SURROGATE.sub("\ufffd", text)
    return text.replace("\x00", "")
