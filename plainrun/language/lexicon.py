"""The fact names a file defines, read before its statements are parsed.

A name that the file defines (``the last name is …``, ``imagine a ship to address``, ``use … as
the order name``, ``process each line item …``, a procedure's parameters) is read as that name
wherever it is written, even when its words could be grammar (``the last name`` is not the last of
``the names`` in such a file). The parser asks ``KnownNames`` whether a phrase is such a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from plainrun.language.blocks import Line
from plainrun.language.grammar import ARTICLES, VERBS
from plainrun.language.names import normalise, variants
from plainrun.language.tokens import POSS, STRING, WORD, Token


def define_name_end(tokens: Sequence[Token]) -> int | None:
    """The index of the verb of ``the <name> is …`` when ``<name>`` is a plain fact name, else None.

    A plain name is words (grammar words included) or one quoted text between ``the`` and the
    first ``is``/``are``; a possessive or an ``of the`` makes the target a field instead.
    """
    if len(tokens) < 3 or not tokens[0].is_word("the"):
        return None
    if tokens[1].kind == STRING:
        return 2 if tokens[2].is_word(*VERBS) else None
    for j in range(1, len(tokens)):
        tok = tokens[j]
        if tok.is_word(*VERBS):
            return j if j > 1 else None
        if tok.kind != WORD or tok.value in ARTICLES or tok.kind == POSS:
            return None
    return None


def name_of(tokens: Sequence[Token]) -> str | None:
    """The normalised name written by ``tokens`` (words, or one quoted text), if they are one."""
    if len(tokens) == 1 and tokens[0].kind == STRING:
        return normalise("".join(p[1] for p in tokens[0].value if p[0] == "text"))  # type: ignore[attr-defined]
    if tokens and all(t.kind == WORD and t.value not in ARTICLES for t in tokens):
        return normalise(" ".join(t.text for t in tokens))
    return None


def _defined_by(tokens: Sequence[Token]) -> Iterable[str]:
    """The names one line defines."""
    verb = define_name_end(tokens)
    if verb is not None and (name := name_of(tokens[1:verb])) is not None:
        yield name
    head = tokens[0]
    if (
        head.is_word("imagine")
        and tokens[1:2]
        and tokens[1].is_word(*ARTICLES)
        and (name := name_of(tokens[2:]))
    ):
        yield name
    if head.is_word("use", "get", "find"):
        for j in range(len(tokens) - 2, 0, -1):
            if tokens[j].is_word("as") and tokens[j + 1].is_word(*ARTICLES):
                if (name := name_of(tokens[j + 2 :])) is not None:
                    yield name
                break
    if head.is_word("process", "for") and len(tokens) > 2 and tokens[1].is_word("each"):
        end = 2
        while end < len(tokens) and not (
            tokens[end].is_word("in", "of", "from", "as")
            and end + 1 < len(tokens)
            and (tokens[end + 1].is_word(*ARTICLES) or tokens[end + 1].is_word("follows"))
        ):
            end += 1
        if (name := name_of(tokens[2:end])) is not None:
            yield name


class KnownNames:
    """Normalised fact names with the line that first defines each."""

    def __init__(self) -> None:
        self.names: dict[str, int] = {}
        #: Each name as first defined (without the variants of its spelling), with its line.
        self.defined: dict[str, int] = {}
        self.longest_words = 0

    def add(self, name: str, line: int) -> None:
        self.defined.setdefault(name, line)
        for spelling in (name, *variants(name)):
            self.names[spelling] = min(line, self.names.get(spelling, line))
        self.longest_words = max(self.longest_words, name.count(" ") + 1)

    def has(self, name: str) -> bool:
        return normalise(name) in self.names

    def line_of(self, name: str) -> int | None:
        return self.names.get(normalise(name))

    def longest(self, tokens: Sequence[Token], start: int) -> int:
        """How many tokens from ``start`` spell the longest known name of two words or more."""
        limit = min(len(tokens), start + self.longest_words)
        end = start
        while end < limit and tokens[end].kind == WORD:
            end += 1
        for stop in range(end, start + 1, -1):
            if normalise(" ".join(t.text for t in tokens[start:stop])) in self.names:
                return stop - start
        return 0

    @classmethod
    def of_lines(cls, roots: Sequence[Line], params: Iterable[str] = ()) -> KnownNames:
        """The names defined anywhere in the procedures whose name lines are ``roots``."""
        known = cls()
        for param in params:
            known.add(param, 0)
        stack = [child for root in roots for child in root.children]
        while stack:
            line = stack.pop()
            stack.extend(line.children)
            if line.broken:
                continue
            for name in _defined_by(line.tokens):
                known.add(name, line.number)
        return known


EMPTY = KnownNames()
