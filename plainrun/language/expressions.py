"""Parsing the expressions and conditions of one line (a recursive-descent parser).

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons, ``+ - plus minus``,
``* / times multiplied by divided by``, unary minus, possessives and ``whose``, values.
Comparisons are read from the words of ``COMPARATORS`` (``is at least``, ``is between … and …``,
``is one of …``); names are read by ``References``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from plainrun.language import nodes as n
from plainrun.language.cursor import Context, ParseError
from plainrun.language.grammar import UNITS, starts_value
from plainrun.language.references import References
from plainrun.language.tokens import DATE, NUMBER, ORDINAL, POSS, STRING, WORD, LexError, Token, tokenize

MAX_NESTING = 60

#: The words after ``is`` / ``are`` (or ``is not``) and the comparison they make. ``or equal to``
#: after a ``<`` or ``>`` makes it ``<=`` or ``>=``.
COMPARATORS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("greater", "than"), ">"),
    (("more", "than"), ">"),
    (("bigger", "than"), ">"),
    (("larger", "than"), ">"),
    (("higher", "than"), ">"),
    (("later", "than"), ">"),
    (("less", "than"), "<"),
    (("fewer", "than"), "<"),
    (("smaller", "than"), "<"),
    (("lower", "than"), "<"),
    (("earlier", "than"), "<"),
    (("at", "least"), ">="),
    (("no", "less", "than"), ">="),
    (("on", "or", "after"), ">="),
    (("at", "most"), "<="),
    (("no", "more", "than"), "<="),
    (("on", "or", "before"), "<="),
    (("equal", "to"), "="),
    (("the", "same", "as"), "="),
    (("different", "from"), "!="),
    (("one", "of"), "in"),
    (("between",), "between"),
    (("before",), "<"),
    (("after",), ">"),
    (("above",), ">"),
    (("over",), ">"),
    (("below",), "<"),
    (("under",), "<"),
    (("in",), "in"),
)
#: Verbs that compare without ``is``: the word(s), the comparison, and whether it is negated.
VERB_COMPARATORS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("equals",), "=", False),
    (("contains",), "contains", False),
    (("contain",), "contains", False),
    (("includes",), "contains", False),
    (("include",), "contains", False),
    (("exceeds",), ">", False),
    (("starts", "with"), "starts", False),
    (("ends", "with"), "ends", False),
    (("does", "not", "contain"), "contains", True),
    (("does", "not", "include"), "contains", True),
    (("does", "not", "start", "with"), "starts", True),
    (("does", "not", "end", "with"), "ends", True),
    (("do", "not", "contain"), "contains", True),
)
_SYMBOLS = ("<", ">", "<=", ">=", "=", "!=")


class ExprParser(References):
    """Parses tokens ``[start, stop)`` of a line; ``parse_all`` insists on using them all."""

    def __init__(
        self, tokens: Sequence[Token], line: int, context: Context | None = None, end_column: int = 0
    ):
        super().__init__(tokens, line, context, end_column)
        self.depth = 0
        #: What the last comparison compared, for one that leaves it out after ``and``/``or``.
        self.subject: n.Expr | None = None

    def parse_all(self, what: Callable[[], n.Expr] | None = None) -> n.Expr:
        expr = (what or self.expression)()
        if not self.done():
            tok = self.peek()
            assert tok is not None
            raise self.error(f'unexpected "{tok.text}" after the value')
        return expr

    # --- conditions ------------------------------------------------------------------------
    def expression(self) -> n.Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error("this expression is nested too deeply")
        try:
            left = self.conjunction()
            while self.at_word("or"):
                tok = self.take()
                left = n.Logical(self.line, tok.column, "or", left, self.elided() or self.conjunction())
            return left
        finally:
            self.depth -= 1

    def conjunction(self) -> n.Expr:
        left = self.negation()
        while self.at_word("and"):
            tok = self.take()
            left = n.Logical(self.line, tok.column, "and", left, self.elided() or self.negation())
        return left

    def elided(self) -> n.Expr | None:
        """``the x is greater than 3 and less than 10``: a comparison after ``and``/``or`` that
        leaves out what it compares, which is then what the comparison before it compared."""
        tok, subject = self.peek(), self.subject
        if tok is None or subject is None or starts_value(tok) or tok.kind != WORD:
            return None
        if not (tok.is_word("is", "are") or any(self._at_words(words) for words, _ in COMPARATORS[:-1])):
            return None
        operator = self.comparator() if tok.is_word("is", "are") else self._words_comparison(False)
        assert operator is not None
        return self.compared(subject, tok, *operator)

    def negation(self) -> n.Expr:
        if self.at_word("not"):
            tok = self.take()
            return n.Not(self.line, tok.column, self.negation())
        return self.comparison()

    def _predicate(self) -> n.Expr | None:
        """A condition procedure's call (``the invoice is valid``) up to the next ``and``/``or``."""
        resolver = self.context.resolver
        if resolver is None or not resolver.has_predicates:
            return None
        depth, j = 0, self.i
        while j < len(self.tokens):
            tok = self.tokens[j]
            if tok.is_op("("):
                depth += 1
            elif tok.is_op(")"):
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and tok.is_word("and", "or", "then") and starts_value(self.peek(j - self.i + 1)):
                break
            j += 1
        if j == self.i:
            return None
        call = resolver.predicate_call(self.tokens[self.i : j], self.line, self.context)
        if call is not None:
            self.i = j
        return call

    def comparison(self) -> n.Expr:
        if (call := self._predicate()) is not None:
            return call
        left = self.additive()
        tok = self.peek()
        if tok is None:
            return left
        operator = self.comparator()
        if operator is None:
            return left
        self.subject = left
        return self.compared(left, tok, *operator)

    def compared(self, left: n.Expr, tok: Token, op: str, negate: bool) -> n.Expr:
        """The comparison of ``left`` by ``op``, whose right side (if any) comes next."""
        if op == "empty":
            return n.Compare(self.line, tok.column, op, left, None, negate)
        if op == "between":
            low = self.additive()
            self.expect_word("and")
            return n.Between(self.line, tok.column, left, low, self.additive(), negate)
        if op == "in":
            return n.Compare(self.line, tok.column, op, left, self.choices(), negate)
        return n.Compare(self.line, tok.column, op, left, self.additive(), negate)

    def choices(self) -> n.Expr:
        """``"a", "b" or "c"`` after ``is one of``; one value alone is a list to look in."""
        first = self.peek()
        items = [self.additive()]
        while self.at_op(",") or (self.at_word("or") and self.peek(1) is not None and self._literal(1)):
            self.take()
            if self.at_word("or"):
                self.take()
            items.append(self.additive())
        column = first.column if first is not None else self.end_column
        return items[0] if len(items) == 1 else n.ListExpr(self.line, column, tuple(items))

    def _literal(self, k: int) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind in (STRING, NUMBER, DATE)

    def comparator(self) -> tuple[str, bool] | None:
        """Consumes a comparison operator if one is next: (op, negate)."""
        tok = self.peek()
        if tok is None:
            return None
        if tok.kind == "op" and tok.value in _SYMBOLS:
            self.take()
            return str(tok.value), False
        if tok.kind != WORD:
            return None
        if tok.value in ("is", "are"):
            self.take()
            negate = self.at_word("not")
            if negate:
                self.take()
            if self.at_word("empty"):
                self.take()
                return "empty", negate
            return self._words_comparison(negate)
        for words, op, negate in VERB_COMPARATORS:
            if self._at_words(words):
                self.i += len(words)
                return op, negate
        return None

    def _at_words(self, words: tuple[str, ...]) -> bool:
        return all(self.at_word(w, k=k) for k, w in enumerate(words))

    def _words_comparison(self, negate: bool) -> tuple[str, bool]:
        for words, op in COMPARATORS:
            if self._at_words(words) and (op != "in" or starts_value(self.peek(len(words)))):
                self.i += len(words)
                if op in ("<", ">") and self._at_words(("or", "equal", "to")):
                    self.i += 3
                    op += "="
                return op, negate
        return "=", negate

    # --- arithmetic -------------------------------------------------------------------------
    def additive(self) -> n.Expr:
        left = self.multiplicative()
        while (tok := self.peek()) is not None:
            if tok.is_op("+", "-"):
                op = str(tok.value)
            elif tok.is_word("plus", "minus"):
                op = "+" if tok.value == "plus" else "-"
            else:
                return left
            self.take()
            left = n.Binary(self.line, tok.column, op, left, self.multiplicative())
        return left

    def multiplicative(self) -> n.Expr:
        left = self.unary()
        while (tok := self.peek()) is not None:
            if tok.is_op("*", "/"):
                op = str(tok.value)
                self.take()
            elif tok.is_word("times"):
                op = "*"
                self.take()
            elif tok.is_word("multiplied", "divided") and self.at_word("by", k=1):
                op = "*" if tok.value == "multiplied" else "/"
                self.i += 2
            else:
                return left
            left = n.Binary(self.line, tok.column, op, left, self.unary())
        return left

    def unary(self) -> n.Expr:
        if self.at_op("-"):
            tok = self.take()
            return n.Negate(self.line, tok.column, self.unary())
        return self.postfix()

    def postfix(self) -> n.Expr:
        return self.postfix_of(self.primary())

    def postfix_of(self, expr: n.Expr) -> n.Expr:
        """``expr`` followed by any ``'s field`` and ``whose field is …``."""
        while (tok := self.peek()) is not None:
            if tok.kind == POSS:
                self.take()
                expr = self.field(expr, tok)
            elif tok.is_word("whose"):
                self.take()
                expr = self.whose(expr, tok)
            else:
                return expr
        return expr

    def whose(self, source: n.Expr, tok: Token) -> n.Expr:
        words = self.name_words()
        if not words:
            raise self.error('expected a field name after "whose"')
        name = " ".join(t.text for t in words)
        operator = self.comparator()
        if operator is None:
            raise self.error(f'expected a comparison such as "is" after "whose {name}"')
        op, negate = operator
        if op == "between":
            low = self.additive()
            self.expect_word("and")
            ends = n.ListExpr(self.line, low.column, (low, self.additive()))
            return n.Whose(self.line, tok.column, source, name, ("!" if negate else "") + op, ends)
        value = None if op == "empty" else self.choices() if op == "in" else self.additive()
        return n.Whose(self.line, tok.column, source, name, ("!" if negate else "") + op, value)

    # --- values -----------------------------------------------------------------------------
    def primary(self) -> n.Expr:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a value at the end of the line")
        if tok.kind == NUMBER:
            return self.number(self.take())
        if tok.kind == STRING:
            return self.text(self.take())
        if tok.kind == DATE:
            return self.date(self.take())
        if tok.is_op("("):
            self.take()
            inner = self.expression()
            if not self.at_op(")"):
                raise self.error('expected ")" to close the "("', tok)
            self.take()
            return inner
        if tok.is_op("/"):
            self.take()
            rest = " ".join(t.text for t in self.tokens[self.i :])
            self.i = len(self.tokens)
            if not rest:
                raise self.error('expected a procedure after "/"', tok)
            return n.ProcedureRef(self.line, tok.column, rest)
        if tok.kind == ORDINAL:
            raise self.error(f'write "the {tok.text} …" to pick an item')
        if tok.kind != WORD:
            raise self.error(f'expected a value, found "{tok.text}"')
        return self.word(tok)

    def word(self, tok: Token) -> n.Expr:
        line, col, word = self.line, tok.column, tok.value
        constants: dict[object, object] = {"true": True, "yes": True, "false": False, "no": False}
        if word in constants:
            self.take()
            return n.Literal(line, col, constants[word])
        if word in ("today", "now"):
            self.take()
            return n.Clock(line, col, str(word))
        if word in ("a", "an") and self.at_word("empty", k=1) and self.at_word("list", "table", k=2):
            self.i += 3
            return n.ListExpr(line, col, ())
        if word in ("a", "an"):
            return self.indefinite(self.take())
        if word == "the":
            return self.the(self.take())
        raise self.error(
            f'expected a value, found "{tok.text}": write "{tok.text}" in quotes for a text, or'
            f" the {tok.text} for a fact"
        )

    def number(self, tok: Token) -> n.Expr:
        unit = self.peek()
        if unit is not None and unit.kind == WORD and unit.value in UNITS:
            self.take()
            amount = n.Literal(self.line, tok.column, tok.value)
            return n.DurationExpr(self.line, tok.column, amount, UNITS[str(unit.value)])
        return n.Literal(self.line, tok.column, tok.value)

    def date(self, tok: Token) -> n.Expr:
        text = str(tok.value)
        try:
            value = dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
        except ValueError:
            raise self.error(f'"{text}" is not a real date', tok) from None
        return n.Literal(self.line, tok.column, value)

    def text(self, tok: Token) -> n.Expr:
        parts: list[str | n.Expr] = []
        for kind, content, column in tok.value:  # type: ignore[attr-defined]
            if kind == "text":
                parts.append(content)
                continue
            try:
                inner = tokenize(content, offset=column - 1)
            except LexError as err:
                raise ParseError(err.column, err.message) from None
            if not inner:
                raise ParseError(column, "expected a fact between { and }")
            sub = ExprParser(inner, self.line, self.context, column + len(content))
            parts.append(sub.parse_all())
        if all(isinstance(p, str) for p in parts):
            return n.Literal(self.line, tok.column, "".join(p for p in parts if isinstance(p, str)))
        return n.Text(self.line, tok.column, tuple(parts))


def parse_expression(tokens: Sequence[Token], line: int, context: Context | None = None) -> n.Expr:
    """The expression made of all of ``tokens``; raises ParseError."""
    context = context or Context()
    if context.resolver is not None:
        call = context.resolver.value_call(tokens, line, context)
        if call is not None:
            return call
    if not tokens:
        raise ParseError(1, "expected a value")
    return ExprParser(tokens, line, context).parse_all()


def try_expression(tokens: Sequence[Token], line: int, context: Context | None = None) -> n.Expr | None:
    try:
        return parse_expression(tokens, line, context)
    except ParseError:
        return None
