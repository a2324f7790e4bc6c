"""Fact names: case-insensitive, ``_`` equal to a space, singular related to plural."""

from __future__ import annotations

import re
from functools import lru_cache

_SPACES = re.compile(r"[\s_]+")

_IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "datum": "data",
    "criterion": "criteria",
}
_IRREGULAR_SINGULAR = {plural: singular for singular, plural in _IRREGULAR.items()}


@lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    """The canonical form of a fact or field name: ``Invoice_Number`` -> ``invoice number``."""
    return _SPACES.sub(" ", name.strip().strip('"').strip()).lower()


def process_key(name: str) -> str:
    """How a child run names a process or procedure: ``/to check the vendor``, ``To Check the vendor``
    and ``check the vendor`` are the same."""
    text = name.strip().removeprefix("/").strip()
    return normalise(text.removeprefix("to ").removeprefix("To "))


def _plural_word(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _singular_words(word: str) -> list[str]:
    if word in _IRREGULAR_SINGULAR:
        return [_IRREGULAR_SINGULAR[word]]
    found: list[str] = []
    if word.endswith("ies") and len(word) > 3:
        found.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 2:
        found.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 1:
        found.append(word[:-1])
    return found


_PREPOSITIONS = frozenset({"in", "of", "to", "with", "for", "at", "by", "from", "on", "per"})


def _noun_at(words: list[str]) -> int:
    """The word a name's number is on: the last, or the last before a preposition
    (``amount in dollars`` -> ``amount``, ``date of birth`` -> ``date``)."""
    for i, word in enumerate(words):
        if i and word in _PREPOSITIONS:
            return i - 1
    return len(words) - 1


@lru_cache(maxsize=4096)
def plural(name: str) -> str:
    """The plural of a normalised name: ``line item`` -> ``line items``, ``amount in dollars`` ->
    ``amounts in dollars``."""
    words = name.split(" ")
    at = _noun_at(words)
    words[at] = _plural_word(words[at])
    return " ".join(words)


@lru_cache(maxsize=4096)
def variants(name: str) -> tuple[str, ...]:
    """Other spellings of a normalised name that mean the same fact (singular <-> plural)."""
    words = name.split(" ")
    at = _noun_at(words)
    out: list[str] = []
    for word in [*_singular_words(words[at]), _plural_word(words[at])]:
        candidate = " ".join([*words[:at], word, *words[at + 1 :]])
        if candidate != name and candidate not in out:
            out.append(candidate)
    return tuple(out)


def python_name(name: str) -> str:
    """A normalised name as a Python identifier: ``invoice number`` -> ``invoice_number``."""
    return re.sub(r"\W+", "_", normalise(name)).strip("_")
