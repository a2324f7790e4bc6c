"""Text: case, trimming, splitting, joining, replacing and pattern extraction."""

from __future__ import annotations

import re
from typing import Any

from plainrun.language.books import procedure
from plainrun.language.values import NOT_FOUND, to_text


@procedure("to uppercase a (text)")
def uppercase(text: str) -> str:
    return text.upper()


@procedure("to lowercase a (text)")
def lowercase(text: str) -> str:
    return text.lower()


@procedure("to capitalize a (text)")
def capitalize(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))


@procedure("to trim a (text)")
def trim(text: str) -> str:
    return text.strip()


@procedure("to split a (text) by a (separator)")
def split(text: str, separator: str) -> list[str]:
    return [part.strip() for part in text.split(separator)] if separator else list(text)


@procedure("to join the (items) with a (separator)")
def join(items: list[Any], separator: str) -> str:
    return separator.join(to_text(item) for item in items)


@procedure("to replace a (pattern) with a (replacement) in a (text)")
def replace(pattern: str, replacement: str, text: str) -> str:
    return text.replace(pattern, replacement)


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    except re.error as err:
        where = f" (at character {err.pos + 1})" if err.pos is not None else ""
        raise ValueError(f'the pattern "{pattern}" is not a valid pattern{where}') from None


@procedure("to extract a (pattern) from a (text)")
def extract(pattern: str, text: str) -> Any:
    """The first match of a regular expression (its first group, if it has one); Not Found if none."""
    match = _compile(pattern).search(text)
    if match is None:
        return NOT_FOUND
    return match.group(1) if match.groups() else match.group(0)


@procedure("to extract all (pattern) from a (text)")
def extract_all(pattern: str, text: str) -> list[str]:
    compiled = _compile(pattern)
    return [m.group(1) if m.groups() else m.group(0) for m in compiled.finditer(text)]
