"""Parsing the statements of a procedure body, line by line, into syntax-tree nodes.

Each line is one statement; the statements that own a block (``if``, ``process each``, ``ask``,
``validate the following``, a call with ``where``/``with``, ``run``, ``invoke``, ``start a run``)
take the line's indented children. A line that fails is recorded as an issue and skipped, so that
every error of a file is reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from plainrun.language import nodes as n
from plainrun.language.blocks import Line
from plainrun.language.errors import SyntaxIssue
from plainrun.language.expressions import ExprParser, ParseError, parse_expression
from plainrun.language.names import normalise, plural
from plainrun.language.procedures import ProcedureIndex
from plainrun.language.tokens import STRING, WORD, Token

_BLOCK_OWNERS = (n.If, n.ForEach, n.Ask, n.Validate, n.Call, n.RunChild, n.StartRun)
_CONVERSIONS = {"text": "text", "string": "text", "number": "number", "date": "date", "datetime": "date"}


class StatementParser:
    def __init__(self, index: ProcedureIndex, filename: str, issues: list[SyntaxIssue]):
        self.index = index
        self.filename = filename
        self.issues = issues

    def issue(self, line: Line, column: int, message: str) -> None:
        self.issues.append(SyntaxIssue(line.number, column, message, line.text, self.filename))

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

    def condition(self, line: Line, tokens: Sequence[Token], keyword: Token) -> n.Expr | None:
        tokens = list(tokens)
        if tokens and tokens[-1].is_op(":"):
            tokens.pop()
        if tokens and tokens[-1].is_word("then"):
            tokens.pop()
        if not tokens:
            self.issue(line, keyword.end, f'expected a condition after "{keyword.text}"')
            return None
        try:
            return ExprParser(tokens, line.number, self.index).parse_all()
        except ParseError as err:
            self.issue(line, err.column, err.message)
            return None

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
                return keyword(line)
            except ParseError as err:
                call = self.try_call(line)
                if call is not None:
                    return call
                if predicate and (check := self.try_check(line)) is not None:
                    return check
                raise err
        if head.is_word("the") and any(t.is_word("is", "are") for t in tokens):
            try:
                return self.define(line, tokens)
            except ParseError as err:
                if predicate and (check := self.try_check(line)) is not None:
                    return check
                if (call := self.try_call(line)) is not None:
                    return call
                raise err
        if predicate and (check := self.try_check(line)) is not None:
            return check
        call = self.try_call(line)
        if call is not None:
            return call
        text = " ".join(t.text for t in self._call_tokens(line))
        near = self.index.closest(text)
        hint = f"; did you mean {' or '.join(repr(p) for p in near)}?" if near else ""
        raise ParseError(head.column, f'no procedure matches "{text}"{hint}')

    def try_check(self, line: Line) -> n.Stmt | None:
        try:
            cond = ExprParser(line.tokens, line.number, self.index).parse_all()
        except ParseError:
            return None
        return n.Check(line.number, line.column, cond)

    def _call_tokens(self, line: Line) -> list[Token]:
        tokens = list(line.tokens)
        if tokens and tokens[-1].is_op(":"):
            tokens.pop()
        if len(tokens) > 1 and tokens[-1].is_word("where", "with"):
            tokens.pop()
        return tokens

    def try_call(self, line: Line) -> n.Stmt | None:
        call = self.index.action_call(self._call_tokens(line), line.number)
        if call is None:
            return None
        where = self.where(line)
        return n.Call(
            line.number, line.column, n.CallExpr(call.line, call.column, call.procedure, call.args, where)
        )

    def where(self, line: Line) -> tuple[n.Define, ...]:
        out: list[n.Define] = []
        for child in line.children:
            stmt = self.statement(child)
            if isinstance(stmt, n.Define) and isinstance(stmt.target, n.FactRef):
                out.append(stmt)
            elif stmt is not None:
                self.issue(child, child.column, 'a "where" block holds facts such as: the subject is "…"')
        return tuple(out)

    def expr(self, line: Line, tokens: Sequence[Token], after: Token) -> n.Expr:
        if not tokens:
            raise ParseError(after.end, f'expected a value after "{after.text}"')
        return parse_expression(tokens, line.number, self.index)

    def define(self, line: Line, tokens: Sequence[Token]) -> n.Stmt:
        parser = ExprParser(tokens, line.number, self.index)
        target = parser.postfix()
        if not isinstance(target, n.FactRef | n.Field):
            raise parser.error('expected the name of a fact before "is"', tokens[0])
        verb = parser.peek()
        if verb is None or not verb.is_word("is", "are"):
            raise parser.error('expected "is" or "are" after the name')
        parser.take()
        rest = tokens[parser.i :]
        items = self.items(line, rest, verb)
        if verb.value == "are" or len(items) > 1:
            value: n.Expr = n.ListExpr(line.number, verb.end, tuple(items))
        else:
            value = items[0]
        return n.Define(line.number, line.column, target, value)

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

    def target(self, parser: ExprParser) -> n.Expr:
        target = parser.postfix()
        if not isinstance(target, n.FactRef | n.Field):
            raise parser.error('expected the name of a fact, as in "the total"')
        return target

    # --- keywords --------------------------------------------------------------------------
    def kw_process(self, line: Line) -> n.Stmt:
        return self._loop(line, 1)

    def kw_for(self, line: Line) -> n.Stmt:
        return self._loop(line, 1)

    def _loop(self, line: Line, start: int) -> n.Stmt:
        tokens = list(line.tokens)
        if tokens[-1].is_op(":"):
            tokens.pop()
        if len(tokens) >= 2 and tokens[-2].is_word("as") and tokens[-1].is_word("follows"):
            tokens = tokens[:-2]
        parser = ExprParser(tokens, line.number, self.index)
        parser.i = start
        parser.expect_word("each")
        names = parser.name_words()
        if not names:
            raise parser.error('expected what to process, as in "process each invoice"')
        display = " ".join(names)
        var = n.FactRef(line.number, tokens[start].column, normalise(display), display)
        if parser.at_word("in", "of", "from"):
            keyword = parser.take()
            items = self.items(line, tokens[parser.i :], keyword)
            source = items[0] if len(items) == 1 else n.ListExpr(line.number, keyword.end, tuple(items))
        elif parser.done():
            source = n.FactRef(line.number, var.column, plural(var.name), plural(var.name))
        else:
            raise parser.error('expected "in the …" or "as follows"')
        return n.ForEach(line.number, line.column, var, source, self.body(line, False))

    def kw_get(self, line: Line) -> n.Stmt:
        return n.Get(line.number, line.column, self.expr(line, line.tokens[1:], line.tokens[0]), False)

    def kw_find(self, line: Line) -> n.Stmt:
        return n.Get(line.number, line.column, self.expr(line, line.tokens[1:], line.tokens[0]), True)

    def kw_say(self, line: Line) -> n.Stmt:
        return n.Say(line.number, line.column, self.expr(line, line.tokens[1:], line.tokens[0]))

    def kw_stop(self, line: Line) -> n.Stmt:
        if len(line.tokens) > 1:
            raise ParseError(line.tokens[1].column, '"stop" stands alone on its line')
        return n.Stop(line.number, line.column)

    def kw_ask(self, line: Line) -> n.Stmt:
        question = self.expr(line, line.tokens[1:], line.tokens[0])
        choices: tuple[n.Expr, ...] = ()
        for child in line.children:
            stmt = self.statement(child)
            if (
                isinstance(stmt, n.Define)
                and isinstance(stmt.target, n.FactRef)
                and stmt.target.name in ("choices", "choice", "options")
                and isinstance(stmt.value, n.ListExpr)
            ):
                choices = stmt.value.items
            elif stmt is not None:
                self.issue(child, child.column, 'below "ask" only "the choices are …" may follow')
        return n.Ask(line.number, line.column, question, choices)

    def kw_validate(self, line: Line) -> n.Stmt:
        rest = [t for t in line.tokens[1:] if not t.is_op(":")]
        if [t.value for t in rest] not in (["the", "following"], ["following"], []):
            raise ParseError(
                rest[0].column, 'write "validate the following" and indent "ensure …" lines below'
            )
        checks: list[n.Ensure] = []
        for child in line.children:
            if not child.tokens[0].is_word("ensure"):
                self.issue(
                    child, child.column, 'below "validate the following" every line starts with "ensure"'
                )
                continue
            ensure = self.ensure(child)
            if ensure is not None:
                checks.append(ensure)
        if not line.children:
            raise ParseError(line.tokens[-1].end, 'expected indented "ensure …" lines below this line')
        return n.Validate(line.number, line.column, tuple(checks))

    def kw_ensure(self, line: Line) -> n.Stmt:
        ensure = self.ensure(line)
        if ensure is None:
            raise ParseError(line.column, 'expected a condition after "ensure"')
        return n.Validate(line.number, line.column, (ensure,))

    def ensure(self, line: Line) -> n.Ensure | None:
        cond = self.condition(line, line.tokens[1:], line.tokens[0])
        if cond is None:
            return None
        text = line.text.strip()[len("ensure") :].strip()
        return n.Ensure(line.number, line.column, cond, text)

    def kw_set(self, line: Line) -> n.Stmt:
        parser = ExprParser(line.tokens, line.number, self.index)
        parser.i = 1
        target = self.target(parser)
        to = parser.expect_word("to")
        return n.SetFact(line.number, line.column, target, self.expr(line, line.tokens[parser.i :], to))

    def kw_use(self, line: Line) -> n.Stmt:
        parser = ExprParser(line.tokens, line.number, self.index)
        parser.i = 1
        value = parser.expression()
        parser.expect_word("as")
        name = parser.parse_all(parser.postfix)
        if not isinstance(name, n.FactRef):
            raise parser.error('expected a name after "as", as in "the customer"')
        return n.UseAs(line.number, line.column, value, name)

    def kw_imagine(self, line: Line) -> n.Stmt:
        parser = ExprParser(line.tokens, line.number, self.index)
        parser.i = 1
        if not parser.at_word("a", "an", "the"):
            raise parser.error('expected "a", "an" or "the" after "imagine"')
        name = parser.parse_all(parser.postfix)
        if not isinstance(name, n.FactRef):
            raise ParseError(line.tokens[1].column, "expected a name to imagine")
        return n.Imagine(line.number, line.column, name)

    def _change(self, line: Line, op: str, preposition: str) -> n.Stmt:
        parser = ExprParser(line.tokens, line.number, self.index)
        parser.i = 1
        value = parser.expression()
        parser.expect_word(preposition)
        target = parser.parse_all(lambda: self.target(parser))
        return n.Change(line.number, line.column, op, value, target)

    def kw_add(self, line: Line) -> n.Stmt:
        return self._change(line, "add", "to")

    def kw_subtract(self, line: Line) -> n.Stmt:
        return self._change(line, "subtract", "from")

    def kw_remove(self, line: Line) -> n.Stmt:
        return self._change(line, "remove", "from")

    def kw_convert(self, line: Line) -> n.Stmt:
        parser = ExprParser(line.tokens, line.number, self.index)
        parser.i = 1
        target = self.target(parser)
        parser.expect_word("to")
        if parser.at_word("a", "an"):
            parser.take()
        kind = parser.peek()
        if kind is None or kind.kind != WORD or kind.value not in _CONVERSIONS or parser.peek(1) is not None:
            raise parser.error('expected "text", "number" or "date" after "to"')
        return n.Convert(line.number, line.column, target, _CONVERSIONS[str(kind.value)])

    def _child(self, line: Line, wait: bool) -> n.Stmt:
        tokens = self._call_tokens(line)
        if len(tokens) < 3 or not tokens[1].is_word("to"):
            raise ParseError(line.tokens[0].end, f'expected "{line.tokens[0].text} to <procedure>"')
        phrase = " ".join(t.text for t in tokens[2:])
        return n.RunChild(line.number, line.column, phrase, self.where(line), wait)

    def kw_run(self, line: Line) -> n.Stmt:
        return self._child(line, True)

    def kw_invoke(self, line: Line) -> n.Stmt:
        return self._child(line, False)

    def kw_start(self, line: Line) -> n.Stmt:
        words = [t.value for t in self._call_tokens(line)]
        if words != ["start", "a", "run"]:
            raise ParseError(line.column, 'expected "start a run where" with the procedure below it')
        where = self.where(line)
        if not any(d.target.name == "procedure" for d in where if isinstance(d.target, n.FactRef)):
            raise ParseError(
                line.column, 'expected "the procedure is /to …" in the block below "start a run"'
            )
        return n.StartRun(line.number, line.column, where)

    def kw_wait(self, line: Line) -> n.Stmt:
        words = [t.value for t in line.tokens]
        if words not in (["wait", "for", "the", "runs"], ["wait", "for", "runs"]):
            raise ParseError(line.column, 'expected "wait for the runs"')
        return n.WaitRuns(line.number, line.column)
