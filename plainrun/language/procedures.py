"""The procedures a file can call, and resolving a phrase in a line to one of them.

The most specific phrase wins: candidates are tried by their number of literal words, most
first, and at equal counts procedures defined in the file come before book procedures (so a
process named ``to read an invoice`` does not swallow the book's ``read the csv rows of a
(file)``). Actions (``to …``) are called as statements; value procedures (``the tax of an amount
is``) as a whole value; condition procedures (``an invoice is valid if``) as a condition.

A literal slot (a book parameter typed ``FieldName``) takes a field name as written:
``sort the invoices by due date``, ``by "due date"``, or ``by the due date`` unless the file
defines a fact ``due date``, whose value is then the field's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plainrun.language import nodes as n
from plainrun.language.cursor import Context, ParseError
from plainrun.language.expressions import parse_expression, try_expression
from plainrun.language.grammar import ARTICLES, VALUE_WORDS
from plainrun.language.lexicon import name_of
from plainrun.language.phrases import closest, display, match, written_in
from plainrun.language.tokens import STRING, WORD, Token

_MATCH_BUDGET = 20_000


@dataclass(frozen=True)
class Known:
    kind: str  # to | is | are | if
    phrase: n.Phrase
    origin: str  # file | book
    label: str = ""  # the phrase as its author wrote it, for messages: "sort the (items) by (field)"

    @property
    def shown(self) -> str:
        return self.label or display(self.phrase)


def field_name(tokens: Sequence[Token], line: int, context: Context) -> n.Expr | None:
    """The argument of a literal slot: a field name as written, or a fact that holds one."""
    if not tokens:
        return None
    first = tokens[0]
    if len(tokens) == 1 and first.kind == STRING:
        return try_expression(tokens, line, context)
    words = tokens[1:] if first.is_word("the") else tokens
    name = name_of(words)
    if name is None or (first.kind == WORD and first.value in ARTICLES and not first.is_word("the")):
        return try_expression(tokens, line, context)
    if first.is_word("the") and context.known.has(name):
        return try_expression(tokens, line, context)
    return n.Literal(line, first.column, " ".join(t.text for t in words))


class ProcedureIndex:
    def __init__(self, known: Iterable[Known]):
        known = list(known)
        ordered = sorted(
            known, key=lambda k: (-sum(isinstance(item, str) for item in k.phrase.items), k.origin != "file")
        )
        self.actions = [k for k in ordered if k.kind == "to"]
        self.values = [k for k in ordered if k.kind in ("is", "are")]
        self.predicates = [k for k in ordered if k.kind == "if"]
        self._budget = [_MATCH_BUDGET]
        self._nesting = 0

    @property
    def has_predicates(self) -> bool:
        return bool(self.predicates)

    def _match(
        self, candidates: Sequence[Known], tokens: Sequence[Token], line: int, context: Context
    ) -> n.CallExpr | None:
        if not tokens or not candidates or self._nesting > 8:
            return None

        def parse_span(span: Sequence[Token], slot: n.Slot) -> n.Expr | None:
            if slot.literal:
                return field_name(span, line, context)
            return try_expression(span, line, context)

        self._nesting += 1
        try:
            for known in candidates:
                args = match(known.phrase, tokens, parse_span, self._budget)
                if args is not None:
                    return n.CallExpr(line, tokens[0].column, known.phrase.key, tuple(args))
        finally:
            self._nesting -= 1
        return None

    def action_call(self, tokens: Sequence[Token], line: int, context: Context) -> n.CallExpr | None:
        self._budget[0] = _MATCH_BUDGET
        return self._match(self.actions, tokens, line, context)

    def value_call(self, tokens: Sequence[Token], line: int, context: Context) -> n.CallExpr | None:
        """A value procedure's call, or an action's (``the tax is compute the tax of 120``)."""
        found = self._match(self.values, tokens, line, context)
        if found is None and tokens and tokens[0].kind == WORD and tokens[0].value not in VALUE_WORDS:
            found = self._match(self.actions, tokens, line, context)
        return found

    def predicate_call(self, tokens: Sequence[Token], line: int, context: Context) -> n.CallExpr | None:
        return self._match(self.predicates, tokens, line, context)

    def no_match(self, tokens: Sequence[Token], line: int, context: Context) -> str:
        """Why no action matches ``tokens``: the phrase it reads as and its argument that is not a
        value, or else the closest known phrases (never the one the line already spells)."""
        text = " ".join(t.text for t in tokens)
        spelled = [(k, spans) for k in self.actions if (spans := written_in(k.phrase, tokens)) is not None]
        words = [str(t.value) for t in tokens if t.kind == WORD]
        others = [(k.phrase, k.shown) for k in self.actions if all(k is not s for s, _ in spelled)]
        near = closest(words, others)
        for known, spans in spelled:
            for slot, span in spans:
                try:
                    parse_expression(span, line, context)
                except ParseError as err:
                    if near and err.message.startswith("unexpected"):
                        break  # the line goes on past this phrase: another is likelier meant
                    written = " ".join(t.text for t in span)
                    return (
                        f'this reads as "{known.shown}", but its ({slot.name}) "{written}"'
                        f" is not a value: {err.message}"
                    )
        hint = f"; did you mean {' or '.join(repr(p) for p in near)}?" if near else ""
        return f'no procedure matches "{text}"{hint}'
