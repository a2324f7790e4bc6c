"""The procedures a file can call, and resolving a phrase in a line to one of them.

The most specific phrase wins: candidates are tried by their number of literal words, most
first, and at equal counts procedures defined in the file come before book procedures (so a
process named ``to read an invoice`` does not swallow the book's ``read the csv rows of a
(file)``). Actions (``to …``) are called as
statements; value procedures (``the tax of an amount is``) as a whole value; condition procedures
(``an invoice is valid if``) as a condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plainrun.language import nodes as n
from plainrun.language.phrases import closest, display, match
from plainrun.language.tokens import WORD, Token

_MATCH_BUDGET = 20_000
_VALUE_WORDS = frozenset({"the", "a", "an", "true", "false", "yes", "no", "today", "now", "not"})


@dataclass(frozen=True)
class Known:
    kind: str  # to | is | are | if
    phrase: n.Phrase
    origin: str  # file | book


class ProcedureIndex:
    def __init__(self, known: Iterable[Known]):
        known = list(known)
        literal_count = lambda k: -sum(isinstance(item, str) for item in k.phrase.items)  # noqa: E731
        ordered = sorted(known, key=lambda k: (literal_count(k), k.origin != "file"))
        self.actions = [k for k in ordered if k.kind == "to"]
        self.values = [k for k in ordered if k.kind in ("is", "are")]
        self.predicates = [k for k in ordered if k.kind == "if"]
        self.all = ordered
        self._budget = [_MATCH_BUDGET]
        self._nesting = 0

    @property
    def has_predicates(self) -> bool:
        return bool(self.predicates)

    def _match(self, candidates: Sequence[Known], tokens: Sequence[Token], line: int) -> n.CallExpr | None:
        if not tokens or not candidates or self._nesting > 8:
            return None
        from plainrun.language.expressions import try_expression

        self._nesting += 1
        try:
            for known in candidates:
                args = match(
                    known.phrase, tokens, lambda span: try_expression(span, line, self), self._budget
                )
                if args is not None:
                    return n.CallExpr(line, tokens[0].column, known.phrase.key, tuple(args))
        finally:
            self._nesting -= 1
        return None

    def action_call(self, tokens: Sequence[Token], line: int) -> n.CallExpr | None:
        self._budget[0] = _MATCH_BUDGET
        return self._match(self.actions, tokens, line)

    def value_call(self, tokens: Sequence[Token], line: int) -> n.CallExpr | None:
        """A value procedure's call, or an action's (``the tax is compute the tax of 120``)."""
        found = self._match(self.values, tokens, line)
        if found is None and tokens and tokens[0].kind == WORD and tokens[0].value not in _VALUE_WORDS:
            found = self._match(self.actions, tokens, line)
        return found

    def predicate_call(self, tokens: Sequence[Token], line: int) -> n.CallExpr | None:
        return self._match(self.predicates, tokens, line)

    def closest(self, text: str) -> list[str]:
        return closest(text, [display(k.phrase) for k in self.actions])
