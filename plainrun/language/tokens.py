"""Splitting one line of a process into tokens that know their column."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from plainrun.domain.storable import MAX_DIGITS
from plainrun.language.values import Money, Percent

# kinds
WORD = "word"  # value: the word in lower case
NUMBER = "number"  # value: int | Decimal | Money | Percent
STRING = "string"  # value: list of ("text", str, column) | ("expr", source, column)
DATE = "date"  # value: the ISO text
ORDINAL = "ordinal"  # value: int (1-based)
POSS = "poss"  # 's
OP = "op"  # value: the operator text

_QUOTES = {'"': '"', "\u201c": "\u201d"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?(?![\w-])")
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_NUMBER = re.compile(r"([$€£¥])?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(%)?(?![\w])")
_WORD = re.compile(r"[^\W\d]\w*(?:-[^\W\d]\w*)*")
_OP = re.compile(r"<=|>=|!=|<>|==|[<>=+\-*/(),:;{}]")
_OP_VALUES = {"<>": "!=", "==": "="}
# Only these are escapes; any other backslash is kept, so patterns such as "\d+" read as written.
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "{": "{", "}": "}", "\u201d": "\u201d"}
_POSSESSIVE = re.compile(r"['\u2019]s\b")
_PLURAL_POSSESSIVE = re.compile(r"['\u2019](?!\w)")  # the invoices' amounts


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    value: object
    column: int  # 1-based column of the first character
    end: int  # 1-based column just after the last character

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.value in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.value in ops


class LexError(Exception):
    def __init__(self, column: int, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def tokenize(text: str, start: int = 0, *, offset: int = 0) -> list[Token]:
    """Tokens of ``text`` from index ``start``; columns are 1-based and shifted by ``offset``.

    A ``#`` outside a string ends the line. Raises LexError on an unterminated string or a
    character that means nothing.
    """
    tokens: list[Token] = []
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\f\v":
            i += 1
            continue
        if ch == "#":
            break
        col = i + 1 + offset
        if ch in _QUOTES:
            i = _string(text, i, offset, tokens)
            continue
        if (m := _DATE.match(text, i)) is not None:
            tokens.append(Token(DATE, m.group(), m.group(), col, m.end() + 1 + offset))
            i = m.end()
            continue
        if (m := _ORDINAL.match(text, i)) is not None:
            tokens.append(Token(ORDINAL, m.group(), int(m.group(1)), col, m.end() + 1 + offset))
            i = m.end()
            continue
        if (m := _NUMBER.match(text, i)) is not None:
            tokens.append(Token(NUMBER, m.group(), _number(m, col), col, m.end() + 1 + offset))
            i = m.end()
            continue
        if tokens and (
            (m := _POSSESSIVE.match(text, i)) is not None
            or (
                tokens[-1].kind == WORD
                and tokens[-1].text[-1:] in "sS"
                and (m := _PLURAL_POSSESSIVE.match(text, i)) is not None
            )
        ):
            tokens.append(Token(POSS, m.group(), "'s", col, m.end() + 1 + offset))
            i = m.end()
            continue
        if (m := _WORD.match(text, i)) is not None:
            word = m.group()
            tokens.append(Token(WORD, word, word.lower(), col, m.end() + 1 + offset))
            i = m.end()
            continue
        if ch == "." and i == len(text.rstrip()) - 1:
            break  # a sentence may end with a full stop
        i = _operator(text, i, col, tokens)
    return tokens


def _operator(text: str, i: int, col: int, tokens: list[Token]) -> int:
    """Appends the operator at ``text[i]`` and returns the index after it; LexError if none is."""
    if (m := _OP.match(text, i)) is not None:
        op = m.group()
        tokens.append(Token(OP, op, _OP_VALUES.get(op, op), col, col + len(op)))
        return m.end()
    if text[i] in "'\u2018\u2019":
        raise LexError(col, 'a text is written in double quotes, as in "Acme"')
    raise LexError(col, f'the character "{text[i]}" means nothing here')


def _number(match: re.Match[str], column: int) -> int | Decimal | Money | Percent:
    """The value of a number literal; raises LexError past the largest number the language keeps."""
    symbol, digits, percent = match.groups()
    digits = digits.replace(",", "")
    if len(digits.partition(".")[0]) > MAX_DIGITS:
        raise LexError(
            column,
            f"this number has more than {MAX_DIGITS} digits: larger than the language's numbers go"
            f" (10^{MAX_DIGITS})",
        )
    number: int | Decimal = int(digits) if "." not in digits else Decimal(digits)
    if symbol and percent:
        raise LexError(column, "a number is money or a percentage, not both")
    if symbol:
        return Money(Decimal(digits), symbol)
    if percent:
        return Percent(number)
    return number


def _string(text: str, i: int, offset: int, tokens: list[Token]) -> int:
    """Reads a quoted string at ``text[i]``; appends the token and returns the index after it."""
    close = _QUOTES[text[i]]
    start = i
    i += 1
    parts: list[tuple[str, str, int]] = []
    buf: list[str] = []
    buf_col = i + 1 + offset
    while True:
        if i >= len(text):
            raise LexError(start + 1 + offset, "this text has no closing quote")
        ch = text[i]
        if ch == close:
            break
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in _ESCAPES:
            buf.append(_ESCAPES[text[i + 1]])
            i += 2
            continue
        if ch == "{":
            if text.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = text.find("}", i)
            if end < 0:
                raise LexError(i + 1 + offset, "this { has no closing }")
            if buf:
                parts.append(("text", "".join(buf), buf_col))
                buf = []
            parts.append(("expr", text[i + 1 : end], i + 2 + offset))
            i = end + 1
            buf_col = i + 1 + offset
            continue
        if ch == "}" and text.startswith("}}", i):
            buf.append("}")
            i += 2
            continue
        buf.append(ch)
        i += 1
    if buf or not parts:
        parts.append(("text", "".join(buf), buf_col))
    tokens.append(Token(STRING, text[start : i + 1], parts, start + 1 + offset, i + 2 + offset))
    return i + 1
