"""What every statement's parsing shares: its context, its values, its targets, and splitting a
line at a word such as ``to`` or ``as`` where the parts it leaves are complete.

Names may hold the words that separate a statement's parts (``set the days to pay to 30``), so a
statement tries each place where its separator is written and keeps the one whose parts both
parse. When more than one does, the line has two readings and the error shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from plainrun.language import nodes as n
from plainrun.language.blocks import Line
from plainrun.language.cursor import Context, ParseError
from plainrun.language.errors import SyntaxIssue
from plainrun.language.expressions import ExprParser, parse_expression
from plainrun.language.lexicon import KnownNames, name_of
from plainrun.language.procedures import ProcedureIndex
from plainrun.language.references import quoted
from plainrun.language.tokens import STRING, Token

T = TypeVar("T")


class LineParser:
    def __init__(self, index: ProcedureIndex, filename: str, issues: list[SyntaxIssue], known: KnownNames):
        self.index = index
        self.filename = filename
        self.issues = issues
        self.context = Context(index, known)

    def issue(self, line: Line, column: int, message: str) -> None:
        self.issues.append(SyntaxIssue(line.number, column, message, line.text, self.filename))

    def statement(self, line: Line, predicate: bool = False) -> n.Stmt | None:
        raise NotImplementedError

    def parser(self, tokens: Sequence[Token], line: Line) -> ExprParser:
        return ExprParser(tokens, line.number, self.context)

    # --- values ------------------------------------------------------------------------------
    def expr(self, line: Line, tokens: Sequence[Token], after: Token) -> n.Expr:
        if not tokens:
            raise ParseError(after.end, f'expected a value after "{after.text}"')
        return parse_expression(tokens, line.number, self.context)

    def items(self, line: Line, tokens: Sequence[Token], after: Token) -> list[n.Expr]:
        """Comma-separated values (``"a", "b" and "c"`` also works)."""
        if not tokens:
            raise ParseError(after.end, f'expected a value after "{after.text}"')
        spans: list[list[Token]] = [[]]
        depth = 0
        for tok in tokens:
            if tok.is_op("("):
                depth += 1
            elif tok.is_op(")"):
                depth -= 1
            if depth == 0 and tok.is_op(","):
                spans.append([])
                continue
            spans[-1].append(tok)
        last = spans[-1]
        if len(spans) > 1:
            for j, tok in enumerate(last):
                if tok.is_word("and") and j > 0 and j + 1 < len(last) and last[j + 1].kind == STRING:
                    spans[-1:] = [last[:j], last[j + 1 :]]
                    break
        out = []
        for span in spans:
            if not span:
                raise ParseError(after.end, "expected a value between the commas")
            out.append(self.expr(line, span, after))
        return out

    def where(self, line: Line) -> tuple[n.Define, ...]:
        out: list[n.Define] = []
        for child in line.children:
            stmt = self.statement(child)
            if isinstance(stmt, n.Define) and isinstance(stmt.target, n.FactRef):
                out.append(stmt)
            elif stmt is not None:
                self.issue(child, child.column, 'a "where" block holds facts such as: the subject is "…"')
        return tuple(out)

    # --- targets -----------------------------------------------------------------------------
    def target(self, line: Line, tokens: Sequence[Token]) -> n.Expr:
        """What a statement defines or changes: ``the <name>`` (every word up to the verb is the
        name), ``the "<name>"``, or a field: ``the invoice's status``, ``the tax of the invoice``."""
        if not tokens or not tokens[0].is_word("the", "a", "an"):
            column = tokens[0].column if tokens else line.column
            raise ParseError(column, 'expected the name of a fact, as in "the total"')
        name = name_of(tokens[1:])
        if name is not None:
            display = quoted(tokens[1]) if tokens[1].kind == STRING else " ".join(t.text for t in tokens[1:])
            return n.FactRef(line.number, tokens[0].column, name, display.strip())
        parser = self.parser(tokens, line)
        target = parser.parse_all(parser.postfix)
        if not isinstance(target, n.FactRef | n.Field):
            raise ParseError(tokens[0].column, 'expected the name of a fact, as in "the total"')
        return target

    def fact_name(self, line: Line, tokens: Sequence[Token]) -> n.FactRef:
        target = self.target(line, tokens)
        if not isinstance(target, n.FactRef):
            raise ParseError(tokens[0].column, 'expected a name, as in "the customer"')
        return target

    # --- splitting -----------------------------------------------------------------------------
    def split(
        self,
        line: Line,
        tokens: Sequence[Token],
        words: tuple[str, ...],
        build: Callable[[Sequence[Token], Sequence[Token], Token], T],
        *,
        first: int = 1,
    ) -> T:
        """``build(left, right, separator)`` at the one place among ``words`` where it parses."""
        found: list[tuple[Token, T]] = []
        failed: list[tuple[Token, ParseError]] = []
        for j in range(first, len(tokens)):
            sep = tokens[j]
            if not sep.is_word(*words):
                continue
            try:
                found.append((sep, build(tokens[first:j], tokens[j + 1 :], sep)))
            except ParseError as err:
                failed.append((sep, err))
        if len(found) == 1:
            return found[0][1]
        if found:
            raise ParseError(found[1][0].column, self._readings(tokens, first, [sep for sep, _ in found]))
        if not failed:
            after = tokens[first - 1] if first else tokens[0]
            raise ParseError(
                after.end if len(tokens) <= first else tokens[first].column, f'expected "{words[0]}"'
            )
        right = [err for sep, err in failed if err.column > sep.column]
        raise (right[-1] if right else failed[0][1])

    @staticmethod
    def _readings(tokens: Sequence[Token], first: int, seps: list[Token]) -> str:
        head = " ".join(t.text for t in tokens[:first])
        shown = []
        for sep in seps[:2]:
            left = " ".join(t.text for t in tokens[first:] if t.column < sep.column)
            right = " ".join(t.text for t in tokens[first:] if t.column > sep.column)
            shown.append(f'{head} "{left}" {sep.text} "{right}"')
        return (
            f"this line has two readings: {shown[0]}, or {shown[1]}; write the name that holds"
            f' "{seps[0].text}" in quotes (the "…") to choose one'
        )
