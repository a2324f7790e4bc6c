"""The values of Excel formulas that a workbook holds without their results.

Excel and LibreOffice save a formula's last result beside it, and that result is what a process
reads. A workbook written by a program (openpyxl, a report generator) often has none; its formulas
are worked out here: numbers, text, ``TRUE``/``FALSE``, cell references (``B2``, ``$B$2``,
``Sheet2!B2``, ``'My sheet'!B2``), ranges (``B2:D9``), the operators ``+ - * / ^ & % = <> < > <=
>=`` and the functions in :data:`FUNCTIONS`. Anything else is a :class:`FormulaError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any


class FormulaError(Exception):
    """A formula that cannot be worked out here."""


_TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"]|\"\")*\")"
    r"|(?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
    r"|(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)"
    r"|(?P<name>[A-Za-z_][\w.]*)"
    r"|(?P<op><>|<=|>=|[-+*/^&%=<>(),:]))"
)
Lookup = Callable[[str | None, int, int], Any]


def _number(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    try:
        return Decimal(str(value).strip())
    except ArithmeticError:
        raise FormulaError(f"{str(value)!r} is not a number") from None


def _numbers(values: Sequence[Any]) -> list[Decimal]:
    flat = [v for item in values for v in (item if isinstance(item, list) else [item])]
    return [_number(v) for v in flat if isinstance(v, int | float | Decimal) and not isinstance(v, bool)]


def _round(mode: str) -> Callable[..., Any]:
    def function(value: Any, places: Any = 0) -> Decimal:
        exponent = Decimal(1).scaleb(-int(_number(places)))
        return _number(value).quantize(exponent, rounding=mode)

    return function


def _flat(values: Sequence[Any]) -> list[Any]:
    return [v for item in values for v in (item if isinstance(item, list) else [item])]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "SUM": lambda *v: sum(_numbers(v), Decimal(0)),
    "PRODUCT": lambda *v: _product(_numbers(v)),
    "AVERAGE": lambda *v: sum(_numbers(v), Decimal(0)) / (len(_numbers(v)) or _raise("AVERAGE of nothing")),
    "MIN": lambda *v: min(_numbers(v), default=Decimal(0)),
    "MAX": lambda *v: max(_numbers(v), default=Decimal(0)),
    "COUNT": lambda *v: len(_numbers(v)),
    "COUNTA": lambda *v: sum(1 for x in _flat(v) if x not in (None, "")),
    "ROUND": _round(ROUND_HALF_UP),
    "ROUNDUP": _round(ROUND_UP),
    "ROUNDDOWN": _round(ROUND_DOWN),
    "ABS": lambda v: abs(_number(v)),
    "IF": lambda c, a=True, b=False: a if _truth(c) else b,
    "AND": lambda *v: all(_truth(x) for x in _flat(v)),
    "OR": lambda *v: any(_truth(x) for x in _flat(v)),
    "NOT": lambda v: not _truth(v),
    "CONCATENATE": lambda *v: "".join(_text(x) for x in _flat(v)),
    "CONCAT": lambda *v: "".join(_text(x) for x in _flat(v)),
    "LEN": lambda v: len(_text(v)),
    "UPPER": lambda v: _text(v).upper(),
    "LOWER": lambda v: _text(v).lower(),
    "TRIM": lambda v: " ".join(_text(v).split()),
}


def _product(numbers: list[Decimal]) -> Decimal:
    out = Decimal(1)
    for number in numbers:
        out *= number
    return out


def _raise(message: str) -> int:
    raise FormulaError(message)


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() == "TRUE"
    return bool(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


class _Parser:
    def __init__(self, formula: str, sheet: str | None, lookup: Lookup):
        self.tokens = self._tokens(formula.lstrip("="))
        self.i = 0
        self.sheet = sheet
        self.lookup = lookup

    @staticmethod
    def _tokens(text: str) -> list[tuple[str, str]]:
        out, position = [], 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if text[position:].strip() == "":
                    break
                raise FormulaError(f"cannot read the formula at {text[position:][:20]!r}")
            kind = match.lastgroup or ""
            out.append((kind, match.group(kind)))
            position = match.end()
        return out

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise FormulaError(f"expected {value or 'more'} in the formula")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.comparison()
        if self.peek() is not None:
            raise FormulaError(f"unexpected {self.peek()[1]!r} in the formula")  # type: ignore[index]
        return value

    def comparison(self) -> Any:
        left = self.concat()
        while (token := self.peek()) and token[1] in ("=", "<>", "<", ">", "<=", ">="):
            self.take()
            right = self.concat()
            left = _compare(token[1], left, right)
        return left

    def concat(self) -> Any:
        left = self.additive()
        while (token := self.peek()) and token[1] == "&":
            self.take()
            left = _text(left) + _text(self.additive())
        return left

    def additive(self) -> Any:
        left = self.term()
        while (token := self.peek()) and token[1] in ("+", "-"):
            self.take()
            right = self.term()
            left = _number(left) + _number(right) if token[1] == "+" else _number(left) - _number(right)
        return left

    def term(self) -> Any:
        left = self.power()
        while (token := self.peek()) and token[1] in ("*", "/"):
            self.take()
            right = _number(self.power())
            if token[1] == "/" and right == 0:
                raise FormulaError("the formula divides by zero (#DIV/0!)")
            left = _number(left) * right if token[1] == "*" else _number(left) / right
        return left

    def power(self) -> Any:
        left = self.unary()
        while (token := self.peek()) and token[1] == "^":
            self.take()
            left = _number(left) ** _number(self.unary())
        return left

    def unary(self) -> Any:
        if (token := self.peek()) and token[1] in ("-", "+"):
            self.take()
            value = _number(self.unary())
            return -value if token[1] == "-" else value
        value = self.primary()
        if (token := self.peek()) and token[1] == "%":
            self.take()
            return _number(value) / 100
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return Decimal(text)
        if kind == "string":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            return self.reference(text)
        if kind == "name":
            return self.call(text.upper())
        if text == "(":
            value = self.comparison()
            self.take(")")
            return value
        raise FormulaError(f"unexpected {text!r} in the formula")

    def call(self, name: str) -> Any:
        if name in ("TRUE", "FALSE") and (self.peek() is None or self.peek()[1] != "("):  # type: ignore[index]
            return name == "TRUE"
        function = FUNCTIONS.get(name)
        if function is None:
            raise FormulaError(f"the function {name} is not one that can be worked out here")
        self.take("(")
        args = []
        if self.peek() and self.peek()[1] != ")":  # type: ignore[index]
            args.append(self.comparison())
            while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
                args.append(self.comparison())
        self.take(")")
        try:
            return function(*args)
        except TypeError:
            raise FormulaError(f"{name} does not take {len(args)} arguments") from None

    def reference(self, text: str) -> Any:
        sheet = self.sheet
        if "!" in text:
            prefix, _, text = text.rpartition("!")
            sheet = prefix[1:-1].replace("''", "'") if prefix.startswith("'") else prefix
        cells = [re.fullmatch(r"\$?([A-Za-z]+)\$?(\d+)", part) for part in text.split(":")]
        (c1, r1), (c2, r2) = [(column_number(m[1]), int(m[2])) for m in cells if m] * (2 // len(cells))
        if (c1, r1) == (c2, r2) and ":" not in text:
            return self.lookup(sheet, r1, c1)
        if (abs(c2 - c1) + 1) * (abs(r2 - r1) + 1) > 1_000_000:
            raise FormulaError("the formula's range is too large")
        return [
            self.lookup(sheet, row, column)
            for row in range(min(r1, r2), max(r1, r2) + 1)
            for column in range(min(c1, c2), max(c1, c2) + 1)
        ]


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        a, b = _text(left).lower(), _text(right).lower()
        return {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    x, y = _number(left), _number(right)
    return {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def evaluate(formula: str, sheet: str | None, lookup: Lookup) -> Any:
    """The value of ``formula`` (``=B2*C2``) on ``sheet``; ``lookup(sheet, row, column)`` reads a cell."""
    value = _Parser(formula, sheet, lookup).parse()
    if isinstance(value, list):
        raise FormulaError("the formula gives a range, not one value")
    return value
