"""A position in the tokens of one line, and the errors that point at a column of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from plainrun.language import nodes as n
from plainrun.language.lexicon import EMPTY, KnownNames
from plainrun.language.tokens import WORD, Token


class ParseError(Exception):
    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


class Resolver(Protocol):
    """What the expression parser needs to know about procedures."""

    def value_call(self, tokens: Sequence[Token], line: int, context: Context) -> n.CallExpr | None: ...

    def predicate_call(self, tokens: Sequence[Token], line: int, context: Context) -> n.CallExpr | None: ...

    @property
    def has_predicates(self) -> bool: ...


@dataclass(frozen=True)
class Context:
    """What a line is parsed against: the procedures it may call and the names its file defines."""

    resolver: Resolver | None = None
    known: KnownNames = field(default=EMPTY)


class Cursor:
    """Tokens ``[0, len)`` of a line and the index of the next one."""

    def __init__(
        self, tokens: Sequence[Token], line: int, context: Context | None = None, end_column: int = 0
    ):
        self.tokens = tokens
        self.i = 0
        self.line = line
        self.context = context or Context()
        self.end_column = end_column or (tokens[-1].end if tokens else 1)
        #: The grammar word that last ended a name, and where that name began: for hints.
        self.stopped: tuple[int, int] | None = None

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

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        """A ParseError at ``tok`` (the next token by default), with a hint when a word was read
        as grammar just before it."""
        tok = tok if tok is not None else self.peek()
        column = tok.column if tok is not None else self.end_column
        return ParseError(column, message + self.grammar_hint(column))

    def grammar_hint(self, column: int) -> str:
        if self.stopped is None:
            return ""
        stop, start = self.stopped
        word = self.tokens[stop]
        if column < word.column:
            return ""
        end = stop + 1
        while end < len(self.tokens) and end < stop + 4 and self.tokens[end].kind == WORD:
            end += 1
        phrase = " ".join(t.text for t in self.tokens[start:end])
        underscored = "_".join(t.text for t in self.tokens[start:end])
        return (
            f'; "{word.text}" was read as grammar here: if "{phrase}" is one name, write it in quotes'
            f' (the "{phrase}") or with underscores (the {underscored})'
        )

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            found = self.peek()
            raise self.error(f'expected "{word}"' + (f', found "{found.text}"' if found else " at the end"))
        return self.take()
