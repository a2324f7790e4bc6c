"""Parsing the statements of a procedure body, line by line, into syntax-tree nodes.

Each line is one statement; the statements that own a block (``if``, ``process each``, ``ask``,
``validate the following``, a call with ``where``/``with``, ``run``, ``invoke``, ``start a run``,
``retrieve data``) take the line's indented children. A line that fails is recorded as an issue
and skipped, so that every error of a file is reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from plainrun.language import nodes as n
from plainrun.language.blocks import Line
from plainrun.language.cursor import ParseError
from plainrun.language.grammar import VERBS
from plainrun.language.keywords import KeywordParser
from plainrun.language.tokens import WORD, Token

_BLOCK_OWNERS = (n.If, n.ForEach, n.Ask, n.Validate, n.Call, n.RunChild, n.StartRun, n.Retrieve)


class StatementParser(KeywordParser):
    # --- blocks ----------------------------------------------------------------------------
    def block(self, lines: Sequence[Line], *, predicate: bool = False) -> tuple[n.Stmt, ...]:
        out: list[n.Stmt] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.broken:
                i += 1
                continue
            if line.tokens[0].is_word("else", "otherwise"):
                self.issue(line, line.column, '"else" must follow an "if" block at the same indentation')
                i += 1
                continue
            if line.tokens[0].is_word("if"):
                stmt, i = self.if_chain(lines, i, predicate)
                if stmt is not None:
                    out.append(stmt)
                continue
            stmt = self.statement(line, predicate)
            if stmt is not None:
                out.append(stmt)
            i += 1
        return tuple(out)

    def if_chain(self, lines: Sequence[Line], i: int, predicate: bool) -> tuple[n.Stmt | None, int]:
        """An ``if`` at ``lines[i]`` with any ``else``/``else if`` lines after it."""
        line = lines[i]
        condition = self.condition(line, line.tokens[1:], line.tokens[0])
        body = self.body(line, predicate)
        i += 1
        orelse: tuple[n.Stmt, ...] = ()
        if i < len(lines) and lines[i].tokens[0].is_word("else", "otherwise"):
            other = lines[i]
            rest = other.tokens[1:]
            if rest and rest[0].is_word("if"):
                nested_line = Line(other.number, other.indent, other.text, rest, other.children)
                nested, i = self.if_chain([*lines[:i], nested_line, *lines[i + 1 :]], i, predicate)
                orelse = (nested,) if nested is not None else ()
            else:
                if rest and not (len(rest) == 1 and rest[0].is_op(":")):
                    self.issue(other, rest[0].column, '"else" stands alone on its line')
                orelse = self.body(other, predicate)
                i += 1
        if condition is None:
            return None, i
        return n.If(line.number, line.column, condition, body, orelse), i

    def body(self, line: Line, predicate: bool) -> tuple[n.Stmt, ...]:
        if not line.children:
            self.issue(line, line.tokens[-1].end, "expected an indented block below this line")
            return ()
        return self.block(line.children, predicate=predicate)

    # --- one line --------------------------------------------------------------------------
    def statement(self, line: Line, predicate: bool = False) -> n.Stmt | None:
        if line.broken:
            return None
        try:
            stmt = self._statement(line, predicate)
        except ParseError as err:
            self.issue(line, err.column, err.message)
            return None
        if line.children and not isinstance(stmt, _BLOCK_OWNERS):
            first = line.children[0]
            self.issue(first, first.column, "this line is indented deeper than its block allows")
        return stmt

    def _statement(self, line: Line, predicate: bool) -> n.Stmt:
        tokens = line.tokens
        head = tokens[0]
        keyword = getattr(self, f"kw_{head.value}", None) if head.kind == WORD else None
        if keyword is not None:
            try:
                stmt: n.Stmt = keyword(line)
                return stmt
            except ParseError as err:
                return self._instead(line, predicate, err)
        if head.is_word("the") and any(t.is_word(*VERBS) for t in tokens):
            try:
                return self.define(line, tokens)
            except ParseError as err:
                return self._instead(line, predicate, err)
        return self._instead(line, predicate, None)

    def _instead(self, line: Line, predicate: bool, err: ParseError | None) -> n.Stmt:
        """A line that is no keyword statement or definition: a condition in an ``… if`` procedure,
        or a call; else ``err``, or why no procedure matches."""
        if predicate and (check := self.try_check(line)) is not None:
            return check
        if (call := self.try_call(line)) is not None:
            return call
        if err is not None:
            raise err
        tokens = self.call_tokens(line)
        raise ParseError(line.tokens[0].column, self.index.no_match(tokens, line.number, self.context))

    def try_check(self, line: Line) -> n.Stmt | None:
        try:
            cond = self.parser(line.tokens, line).parse_all()
        except ParseError:
            return None
        return n.Check(line.number, line.column, cond)

    def try_call(self, line: Line) -> n.Stmt | None:
        call = self.index.action_call(self.call_tokens(line), line.number, self.context)
        if call is None:
            return None
        where = self.where(line)
        return n.Call(
            line.number, line.column, n.CallExpr(call.line, call.column, call.procedure, call.args, where)
        )

    def define(self, line: Line, tokens: Sequence[Token]) -> n.Stmt:
        """``the X is E`` / ``the Xs are E, E``: the name is every word before the first verb."""
        verb_at = next(j for j, t in enumerate(tokens) if t.is_word(*VERBS))
        verb = tokens[verb_at]
        if verb_at == 1:
            later = next((j for j, t in enumerate(tokens[2:], start=2) if t.is_word(*VERBS)), len(tokens))
            rest = " ".join(t.text for t in tokens[1:later])
            raise ParseError(
                verb.column,
                f'expected the name of a fact before "{verb.text}"; "{verb.text}" is read as the verb of'
                f' the line: if "{rest}" is the name, write it in quotes (the "{rest}")',
            )
        target = self.target(line, tokens[:verb_at])
        items = self.items(line, tokens[verb_at + 1 :], verb)
        if verb.value == "are" or len(items) > 1:
            value: n.Expr = n.ListExpr(line.number, verb.end, tuple(items))
        else:
            value = items[0]
        return n.Define(line.number, line.column, target, value)
