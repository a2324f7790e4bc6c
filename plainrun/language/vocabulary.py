"""What a process can say at a point of its text: the phrases it can call and the facts in scope.

Read from the lines alone, so that it answers while the text still has syntax errors (an editor
asks as its author types). The phrases are the file's own procedures and every book's; the facts
are the parameters of the procedure around a line and the names its steps define.
"""

from __future__ import annotations

from dataclasses import dataclass

from plainrun.language import nodes as n
from plainrun.language.blocks import Line, build_blocks
from plainrun.language.books import Library, default_library
from plainrun.language.lexicon import KnownNames
from plainrun.language.phrases import PhraseError, read_phrase


@dataclass(frozen=True, slots=True)
class PhraseInfo:
    """A phrase a process can call: as written (``check the (vendor)``), its kind and parameters."""

    label: str
    kind: str  # to | is | are | if
    origin: str  # file | book
    params: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    phrases: list[PhraseInfo]
    facts: list[str]


def vocabulary(source: str, line: int = 0, *, library: Library | None = None) -> Vocabulary:
    """The phrases ``source`` can call, and the facts in scope on ``line`` (1-based; 0: none)."""
    roots, _ = build_blocks(source, "<process>")
    phrases: list[PhraseInfo] = []
    around: tuple[Line, n.Phrase] | None = None
    for root in roots:
        if root.broken:
            continue
        try:
            kind, phrase = read_phrase(root.tokens)
        except PhraseError:
            continue
        words = root.text.split()
        label = " ".join(words[1:] if kind == "to" else words)  # as written: "check a (door)"
        phrases.append(PhraseInfo(label, kind, "file", tuple(phrase.params)))
        if root.number <= line:
            around = (root, phrase)
    lib = library if library is not None else default_library()
    for known in lib.known():
        params = tuple(known.phrase.params)
        phrases.append(PhraseInfo(known.shown, known.kind, known.origin, params))
    facts: list[str] = []
    if around is not None:
        root, phrase = around
        names = KnownNames.of_lines([root], list(phrase.params))
        facts = sorted(names.defined, key=lambda name: (names.defined[name], name))
    return Vocabulary(phrases, facts)
