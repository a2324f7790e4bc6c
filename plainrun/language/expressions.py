"""Parsing the expressions and conditions of one line (a recursive-descent parser).

Precedence, loosest first: ``or``, ``and``, ``not``, comparisons, ``+ - plus minus``,
``* / times multiplied by divided by``, unary minus, possessives and ``whose``, values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from plainrun.language import nodes as n
from plainrun.language.names import normalise, plural
from plainrun.language.tokens import DATE, NUMBER, ORDINAL, POSS, STRING, WORD, LexError, Token, tokenize

# Words that end a fact name: they are operators or keywords of the surrounding statement.
STOP_WORDS = frozenset(
    [
        "is",
        "are",
        "and",
        "or",
        "then",
        "plus",
        "minus",
        "times",
        "divided",
        "multiplied",
        "contains",
        "contain",
        "starts",
        "ends",
        "whose",
        "of",
        "in",
        "as",
        "to",
        "from",
        "with",
        "where",
        "not",
        "does",
        "equals",
        "than",
        "else",
    ]
)
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
}
AGGREGATES = {
    "number": "count",
    "count": "count",
    "sum": "sum",
    "total": "sum",
    "average": "average",
    "mean": "average",
    "minimum": "minimum",
    "maximum": "maximum",
    "length": "length",
}
UNITS = {
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
    "hour": "hours",
    "hours": "hours",
    "minute": "minutes",
    "minutes": "minutes",
}
ARTICLES = ("the", "a", "an")
MAX_NESTING = 60


class ParseError(Exception):
    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


class Resolver(Protocol):
    """What the expression parser needs to know about procedures."""

    def value_call(self, tokens: Sequence[Token], line: int) -> n.CallExpr | None: ...

    def predicate_call(self, tokens: Sequence[Token], line: int) -> n.CallExpr | None: ...

    @property
    def has_predicates(self) -> bool: ...


class ExprParser:
    """Parses tokens ``[start, stop)`` of a line; ``parse_all`` insists on using them all."""

    def __init__(
        self, tokens: Sequence[Token], line: int, resolver: Resolver | None = None, end_column: int = 0
    ):
        self.tokens = tokens
        self.i = 0
        self.line = line
        self.resolver = resolver
        self.end_column = end_column or (tokens[-1].end if tokens else 1)
        self.depth = 0

    # --- helpers ---------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def at_word(self, *words: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind == WORD and tok.value in words

    def at_op(self, *ops: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok.kind == "op" and tok.value in ops

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        tok = tok if tok is not None else self.peek()
        return ParseError(tok.column if tok is not None else self.end_column, message)

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            found = self.peek()
            raise self.error(f'expected "{word}"' + (f', found "{found.text}"' if found else " at the end"))
        return self.take()

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def parse_all(self, what: Callable[[], n.Expr] | None = None) -> n.Expr:
        expr = (what or self.expression)()
        if not self.done():
            tok = self.peek()
            assert tok is not None
            raise self.error(f'unexpected "{tok.text}" after the value')
        return expr

    # --- grammar ---------------------------------------------------------------------------
    def expression(self) -> n.Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error("this expression is nested too deeply")
        try:
            left = self.conjunction()
            while self.at_word("or"):
                tok = self.take()
                left = n.Logical(self.line, tok.column, "or", left, self.conjunction())
            return left
        finally:
            self.depth -= 1

    def conjunction(self) -> n.Expr:
        left = self.negation()
        while self.at_word("and"):
            tok = self.take()
            left = n.Logical(self.line, tok.column, "and", left, self.negation())
        return left

    def negation(self) -> n.Expr:
        if self.at_word("not"):
            tok = self.take()
            return n.Not(self.line, tok.column, self.negation())
        return self.comparison()

    def _predicate(self) -> n.Expr | None:
        if self.resolver is None or not self.resolver.has_predicates:
            return None
        depth = 0
        j = self.i
        while j < len(self.tokens):
            tok = self.tokens[j]
            if tok.kind == "op" and tok.value == "(":
                depth += 1
            elif tok.kind == "op" and tok.value == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and tok.kind == WORD and tok.value in ("and", "or", "then"):
                break
            j += 1
        if j == self.i:
            return None
        call = self.resolver.predicate_call(self.tokens[self.i : j], self.line)
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
        op, negate, needs_right = operator
        right = self.additive() if needs_right else None
        return n.Compare(self.line, tok.column, op, left, right, negate)

    def comparator(self) -> tuple[str, bool, bool] | None:
        """Consumes a comparison operator if one is next: (op, negate, needs a right side)."""
        tok = self.peek()
        if tok is None:
            return None
        if tok.kind == "op" and tok.value in ("<", ">", "<=", ">=", "=", "!="):
            self.take()
            return tok.value, False, True  # type: ignore[return-value]
        if tok.kind != WORD:
            return None
        if tok.value == "is":
            self.take()
            negate = False
            if self.at_word("not"):
                self.take()
                negate = True
            if self.at_word("empty"):
                self.take()
                return "empty", negate, False
            for words, op in (
                (("greater", "than"), ">"),
                (("more", "than"), ">"),
                (("bigger", "than"), ">"),
                (("less", "than"), "<"),
                (("fewer", "than"), "<"),
                (("smaller", "than"), "<"),
                (("at", "least"), ">="),
                (("at", "most"), "<="),
                (("equal", "to"), "="),
                (("before",), "<"),
                (("after",), ">"),
            ):
                if all(self.at_word(w, k=k) for k, w in enumerate(words)):
                    self.i += len(words)
                    if (
                        op in "<>"
                        and self.at_word("or")
                        and self.at_word("equal", k=1)
                        and self.at_word("to", k=2)
                    ):
                        self.i += 3
                        op += "="
                    return op, negate, True
            return "=", negate, True
        if tok.value == "equals":
            self.take()
            return "=", False, True
        if tok.value in ("contains", "contain"):
            self.take()
            return "contains", False, True
        if tok.value in ("starts", "ends") and self.at_word("with", k=1):
            self.i += 2
            return tok.value, False, True
        if tok.value in ("does", "do") and self.at_word("not", k=1):
            verb = self.peek(2)
            if verb is not None and verb.kind == WORD and verb.value in ("contain", "start", "end"):
                self.i += 3
                if verb.value != "contain":
                    self.expect_word("with")
                return {"contain": "contains", "start": "starts", "end": "ends"}[verb.value], True, True  # type: ignore[index]
        return None

    def additive(self) -> n.Expr:
        left = self.multiplicative()
        while True:
            tok = self.peek()
            if tok is None:
                return left
            if tok.kind == "op" and tok.value in ("+", "-"):
                op = tok.value
            elif tok.kind == WORD and tok.value in ("plus", "minus"):
                op = "+" if tok.value == "plus" else "-"
            else:
                return left
            self.take()
            left = n.Binary(self.line, tok.column, str(op), left, self.multiplicative())

    def multiplicative(self) -> n.Expr:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None:
                return left
            if tok.kind == "op" and tok.value in ("*", "/"):
                op = str(tok.value)
                self.take()
            elif tok.kind == WORD and tok.value == "times":
                op = "*"
                self.take()
            elif tok.kind == WORD and tok.value in ("multiplied", "divided") and self.at_word("by", k=1):
                op = "*" if tok.value == "multiplied" else "/"
                self.i += 2
            else:
                return left
            left = n.Binary(self.line, tok.column, op, left, self.unary())

    def unary(self) -> n.Expr:
        if self.at_op("-"):
            tok = self.take()
            return n.Negate(self.line, tok.column, self.unary())
        return self.postfix()

    def field_name(self) -> str:
        tok = self.peek()
        if tok is not None and tok.kind == STRING:
            self.take()
            parts = tok.value
            return "".join(p[1] for p in parts if p[0] == "text")  # type: ignore[union-attr]
        words = self.name_words()
        if not words:
            raise self.error("expected a field name after 's")
        return " ".join(words)

    def postfix(self) -> n.Expr:
        expr = self.primary()
        while True:
            tok = self.peek()
            if tok is None:
                return expr
            if tok.kind == POSS:
                self.take()
                expr = n.Field(self.line, tok.column, expr, self.field_name())
            elif tok.kind == WORD and tok.value == "whose":
                self.take()
                words = self.name_words()
                if not words:
                    raise self.error('expected a field name after "whose"')
                operator = self.comparator()
                if operator is None:
                    raise self.error('expected a comparison such as "is" after the field name')
                op, negate, needs_right = operator
                value = self.additive() if needs_right else None
                expr = n.Whose(
                    self.line, tok.column, expr, " ".join(words), ("!" if negate else "") + op, value
                )
            else:
                return expr

    def name_words(self) -> list[str]:
        words: list[str] = []
        while (tok := self.peek()) is not None and tok.kind == WORD:
            if tok.value in STOP_WORDS:
                # "the date of birth": "of" followed by a plain word stays in the name.
                nxt = self.peek(1)
                if not (
                    tok.value == "of"
                    and words
                    and nxt is not None
                    and nxt.kind == WORD
                    and nxt.value not in ARTICLES
                    and nxt.value not in STOP_WORDS
                    and not self._of_is_field(nxt)
                ):
                    break
            words.append(tok.text)
            self.take()
        return words

    def _of_is_field(self, nxt: Token) -> bool:
        return nxt.value in ("today", "now")

    def primary(self) -> n.Expr:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a value at the end of the line")
        line, col = self.line, tok.column
        if tok.kind == NUMBER:
            self.take()
            unit = self.peek()
            if unit is not None and unit.kind == WORD and unit.value in UNITS:
                self.take()
                return n.DurationExpr(line, col, n.Literal(line, col, tok.value), UNITS[str(unit.value)])
            return n.Literal(line, col, tok.value)
        if tok.kind == STRING:
            self.take()
            return self.text(tok)
        if tok.kind == DATE:
            self.take()
            text = str(tok.value)
            try:
                value: object = (
                    dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
                )
            except ValueError:
                raise self.error(f'"{text}" is not a real date', tok) from None
            return n.Literal(line, col, value)
        if tok.kind == "op" and tok.value == "(":
            self.take()
            inner = self.expression()
            if not self.at_op(")"):
                raise self.error('expected ")" to close the "("', tok)
            self.take()
            return inner
        if tok.kind == "op" and tok.value == "/":
            self.take()
            rest = " ".join(t.text for t in self.tokens[self.i :])
            self.i = len(self.tokens)
            if not rest:
                raise self.error('expected a procedure after "/"', tok)
            return n.ProcedureRef(line, col, rest)
        if tok.kind == ORDINAL:
            raise self.error(f'write "the {tok.text} …" to pick an item')
        if tok.kind != WORD:
            raise self.error(f'expected a value, found "{tok.text}"')
        word = tok.value
        if word in ("true", "yes"):
            self.take()
            return n.Literal(line, col, True)
        if word in ("false", "no"):
            self.take()
            return n.Literal(line, col, False)
        if word in ("today", "now"):
            self.take()
            return n.Clock(line, col, str(word))
        if word in ("a", "an") and self.at_word("empty", k=1) and self.at_word("list", "table", k=2):
            self.i += 3
            return n.ListExpr(line, col, ())
        if word in ("a", "an"):
            self.take()
            words = self.name_words()
            if not words:
                raise self.error(f'expected a name after "{tok.text}"')
            display = " ".join(words)
            return n.FactRef(line, col, normalise(display), display)
        if word == "the":
            self.take()
            return self.the(tok)
        raise self.error(f'expected a value, found "{tok.text}" (names of facts start with "the")')

    def the(self, the: Token) -> n.Expr:
        line, col = self.line, the.column
        tok = self.peek()
        if tok is None:
            raise self.error('expected a name after "the"')
        if tok.is_word("above"):
            self.take()
            return n.Above(line, col)
        index = None
        if tok.kind == ORDINAL:
            index = int(tok.value)  # type: ignore[call-overload]
        elif tok.kind == WORD and tok.value in ORDINALS:
            index = ORDINALS[str(tok.value)]
        if index is not None:
            self.take()
            words = self.name_words()
            if not words:
                raise self.error('expected what to pick, as in "the first item"')
            noun = normalise(" ".join(words))
            if self.at_word("of", "in"):
                self.take()
                source = self.postfix()
            else:
                source = n.FactRef(line, col, plural(noun), plural(noun))
            if index == 0:
                raise self.error("positions start at 1st", tok)
            return n.Ordinal(line, col, index, noun, source)
        if tok.kind == WORD and tok.value in AGGREGATES and self.at_word("of", k=1):
            self.i += 2
            return n.Aggregate(line, col, AGGREGATES[str(tok.value)], self.postfix())
        words = self.name_words()
        if not words:
            raise self.error(f'expected a name after "the", found "{tok.text}"')
        display = " ".join(words)
        if self.at_word("of") and self.at_word(*ARTICLES, k=1):
            self.take()
            return n.Field(line, col, self.postfix(), display)
        return n.FactRef(line, col, normalise(display), display)

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
            sub = ExprParser(inner, self.line, self.resolver, column + len(content))
            parts.append(sub.parse_all())
        if all(isinstance(p, str) for p in parts):
            return n.Literal(self.line, tok.column, "".join(parts))  # type: ignore[arg-type]
        return n.Text(self.line, tok.column, tuple(parts))


def parse_expression(tokens: Sequence[Token], line: int, resolver: Resolver | None = None) -> n.Expr:
    """The expression made of all of ``tokens``; raises ParseError."""
    if resolver is not None:
        call = resolver.value_call(tokens, line)
        if call is not None:
            return call
    if not tokens:
        raise ParseError(1, "expected a value")
    return ExprParser(tokens, line, resolver).parse_all()


def try_expression(tokens: Sequence[Token], line: int, resolver: Resolver | None = None) -> n.Expr | None:
    try:
        return parse_expression(tokens, line, resolver)
    except ParseError:
        return None
