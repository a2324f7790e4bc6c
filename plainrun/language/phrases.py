"""Procedure phrases: reading them from a name line, and matching a call against them.

``to compute the tax of an amount`` has the words ``compute the tax of`` and one parameter,
``amount`` (nouns after ``a``/``an`` are parameters). When the name has parentheses, as book
procedures do (``to uppercase a (text)``), only the parenthesised nouns are parameters. An article
right before a parameter belongs to the argument, so ``uppercase the name`` and
``uppercase "x"`` both match ``to uppercase a (text)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from plainrun.language import nodes as n
from plainrun.language.names import normalise
from plainrun.language.tokens import WORD, Token

ARTICLES = ("a", "an", "the")
_SLOT_END = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "from",
        "with",
        "in",
        "on",
        "for",
        "by",
        "and",
        "into",
        "as",
        "at",
        "is",
        "are",
        "if",
        "then",
        "or",
    ]
)


class PhraseError(Exception):
    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def read_phrase(tokens: Sequence[Token]) -> tuple[str, n.Phrase]:
    """The kind (``to``, ``is``, ``are``, ``if``) and phrase of a procedure's name line."""
    if not tokens:
        raise PhraseError(1, "expected a procedure name")
    first, last = tokens[0], tokens[-1]
    if first.is_word("to"):
        kind, words = "to", list(tokens[1:])
    elif last.is_word("is", "are", "if"):
        kind, words = str(last.value), list(tokens[:-1])
    else:
        raise PhraseError(
            first.column,
            'a procedure name starts with "to" or ends with "is", "if" or "are"'
            f' (this line is "{" ".join(t.text for t in tokens)}")',
        )
    if not words:
        raise PhraseError(first.column, 'the procedure has no name after "to"')
    for tok in words:
        if tok.kind != WORD and not tok.is_op("(", ")"):
            raise PhraseError(tok.column, f'a procedure name is made of words; "{tok.text}" is not a word')
    if any(tok.is_op("(") for tok in words):
        return kind, n.Phrase(_parenthesised(words))
    return kind, n.Phrase(_by_articles(words))


def _parenthesised(words: list[Token]) -> tuple[str | n.Slot, ...]:
    items: list[str | n.Slot] = []
    i = 0
    while i < len(words):
        tok = words[i]
        if tok.is_op("("):
            j = i + 1
            while j < len(words) and not words[j].is_op(")"):
                if words[j].kind != WORD:
                    raise PhraseError(words[j].column, "expected a noun inside the parentheses")
                j += 1
            if j >= len(words):
                raise PhraseError(tok.column, 'this "(" has no ")"')
            if j == i + 1:
                raise PhraseError(tok.column, "expected a noun inside the parentheses")
            if items and items[-1] in ARTICLES:
                items.pop()
            items.append(n.Slot(normalise(" ".join(t.text for t in words[i + 1 : j]))))
            i = j + 1
            continue
        if tok.is_op(")"):
            raise PhraseError(tok.column, 'this ")" closes nothing')
        items.append(str(tok.value))
        i += 1
    return tuple(items)


def with_literal_slots(phrase: n.Phrase, literal: set[str]) -> n.Phrase:
    """The phrase with the slots named in ``literal`` taking field names as written."""
    return n.Phrase(
        tuple(
            n.Slot(item.name, True) if isinstance(item, n.Slot) and item.name in literal else item
            for item in phrase.items
        )
    )


def _by_articles(words: list[Token]) -> tuple[str | n.Slot, ...]:
    items: list[str | n.Slot] = []
    i = 0
    while i < len(words):
        tok = words[i]
        if tok.value in ("a", "an") and i + 1 < len(words) and words[i + 1].value not in _SLOT_END:
            j = i + 1
            while j < len(words) and words[j].value not in _SLOT_END:
                j += 1
            items.append(n.Slot(normalise(" ".join(t.text for t in words[i + 1 : j]))))
            i = j
            continue
        items.append(str(tok.value))
        i += 1
    return tuple(items)


ParseSpan = Callable[[Sequence[Token], n.Slot], n.Expr | None]


def match(
    phrase: n.Phrase, tokens: Sequence[Token], parse_span: ParseSpan, budget: list[int]
) -> list[n.Expr] | None:
    """The argument expressions if ``tokens`` is a call of ``phrase``; None if it is not."""
    items = phrase.items
    if (
        items
        and isinstance(items[0], str)
        and not (tokens and tokens[0].kind == WORD and tokens[0].value == items[0])
    ):
        return None
    literal_words = {item for item in items if isinstance(item, str)}
    present = {tok.value for tok in tokens if tok.kind == WORD}
    if not literal_words <= present:
        return None

    def rec(i: int, p: int, args: list[n.Expr]) -> list[n.Expr] | None:
        budget[0] -= 1
        if budget[0] < 0:
            return None
        if i == len(items):
            return args if p == len(tokens) else None
        item = items[i]
        if isinstance(item, str):
            if p < len(tokens) and tokens[p].kind == WORD and tokens[p].value == item:
                return rec(i + 1, p + 1, args)
            return None
        if p >= len(tokens):
            return None
        for q in _slot_ends(items, i, tokens, p):
            expr = parse_span(tokens[p:q], item)
            if expr is not None:
                found = rec(i + 1, q, [*args, expr])
                if found is not None:
                    return found
        return None

    return rec(0, 0, [])


def _slot_ends(items: Sequence[str | n.Slot], i: int, tokens: Sequence[Token], p: int) -> Sequence[int]:
    """Where the argument of slot ``items[i]`` that starts at ``tokens[p]`` may end."""
    if i == len(items) - 1:
        return [len(tokens)]
    following = items[i + 1]
    if isinstance(following, str):
        return [
            q for q in range(p + 1, len(tokens)) if tokens[q].kind == WORD and tokens[q].value == following
        ]
    return range(p + 1, len(tokens))


def display(phrase: n.Phrase) -> str:
    return " ".join(f"({item.name})" if isinstance(item, n.Slot) else item for item in phrase.items)


def written_in(phrase: n.Phrase, tokens: Sequence[Token]) -> list[tuple[n.Slot, list[Token]]] | None:
    """When ``tokens`` hold the phrase's words in order, each slot with the words written for it."""
    items = phrase.items
    spans: list[tuple[n.Slot, list[Token]]] = []
    p = 0
    for i, item in enumerate(items):
        if isinstance(item, str):
            if p >= len(tokens) or not tokens[p].is_word(item):
                return None
            p += 1
            continue
        ends = _slot_ends(items, i, tokens, p)
        if p >= len(tokens) or not ends:
            return None
        end = ends[0] if isinstance(ends, list) else p + 1
        spans.append((item, list(tokens[p:end])))
        p = end
    return spans if p == len(tokens) else None


_FILLER = frozenset(ARTICLES) | _SLOT_END


def closest(words: Sequence[str], phrases: Sequence[tuple[n.Phrase, str]], count: int = 3) -> list[str]:
    """The known phrases most like ``words`` (what a line says), closest first; none that shares
    no word that matters with it."""
    wanted = [w for w in words if w not in _FILLER]
    if not wanted:
        return []
    scored = []
    for phrase, label in phrases:
        content = [item for item in phrase.items if isinstance(item, str) and item not in _FILLER]
        if not content:
            continue
        verb = _likeness(wanted[0], content[0])
        coverage = sum(max(_likeness(word, w) for w in wanted) for word in content) / len(content)
        if verb >= 0.7 or coverage >= 0.7:
            scored.append((0.6 * verb + 0.4 * coverage, label))
    scored.sort(key=lambda pair: -pair[0])
    return [text for score, text in scored[:count] if score >= 0.6]


def _likeness(word: str, other: str) -> float:
    """How alike two words are, 0 to 1; a word and its inflection (``sort``, ``sorting``) are close."""
    if word == other:
        return 1.0
    if min(len(word), len(other)) >= 3 and (word.startswith(other) or other.startswith(word)):
        return 0.85
    from difflib import SequenceMatcher  # only when a line matches no phrase

    return SequenceMatcher(None, word, other).ratio()
