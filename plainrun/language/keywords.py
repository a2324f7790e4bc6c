"""The statements that start with a keyword: ``set``, ``add``, ``use``, ``get``, ``process each`` …

Each ``kw_<word>`` method parses a line whose first word is ``<word>``; ``StatementParser`` calls
it, and reads the line as a call of a procedure instead when it does not parse.
"""

from __future__ import annotations

from collections.abc import Sequence

from plainrun.language import nodes as n
from plainrun.language.blocks import Line
from plainrun.language.cursor import ParseError
from plainrun.language.grammar import ARTICLES
from plainrun.language.lineparser import LineParser
from plainrun.language.names import normalise, plural
from plainrun.language.tokens import WORD, Token

_CONVERSIONS = {"text": "text", "string": "text", "number": "number", "date": "date", "datetime": "date"}
_LOOP_WORDS = ("in", "of", "from")


class KeywordParser(LineParser):
    def body(self, line: Line, predicate: bool) -> tuple[n.Stmt, ...]:
        raise NotImplementedError

    def call_tokens(self, line: Line) -> list[Token]:
        """The line without a trailing ``:`` and ``where``/``with`` (which open a block of facts)."""
        tokens = list(line.tokens)
        if tokens and tokens[-1].is_op(":"):
            tokens.pop()
        if len(tokens) > 1 and tokens[-1].is_word("where", "with"):
            tokens.pop()
        return tokens

    # --- loops -------------------------------------------------------------------------------
    def kw_process(self, line: Line) -> n.Stmt:
        tokens = list(line.tokens)
        if tokens[-1].is_op(":"):
            tokens.pop()
        if len(tokens) >= 2 and tokens[-2].is_word("as") and tokens[-1].is_word("follows"):
            tokens = tokens[:-2]
        if len(tokens) < 3 or not tokens[1].is_word("each"):
            raise ParseError(line.tokens[0].end, 'expected "each", as in "process each invoice as follows"')
        body = self.body(line, False)

        def build(left: Sequence[Token], right: Sequence[Token], sep: Token) -> n.Stmt:
            var = self.loop_name(line, left)
            items = self.items(line, right, sep)
            source = items[0] if len(items) == 1 else n.ListExpr(line.number, sep.end, tuple(items))
            return n.ForEach(line.number, line.column, var, source, body)

        if any(t.is_word(*_LOOP_WORDS) for t in tokens[3:]):
            try:
                return self.split(line, tokens, _LOOP_WORDS, build, first=2)
            except ParseError:
                if any(t.kind != WORD or t.value in ARTICLES for t in tokens[2:]):
                    raise
        var = self.loop_name(line, tokens[2:])  # process each amount in dollars: the amounts in dollars
        source = n.FactRef(line.number, var.column, plural(var.name), plural(var.name))
        return n.ForEach(line.number, line.column, var, source, body)

    kw_for = kw_process

    def loop_name(self, line: Line, tokens: Sequence[Token]) -> n.FactRef:
        if not tokens or any(t.kind != WORD or t.value in ARTICLES for t in tokens):
            column = tokens[0].column if tokens else line.tokens[-1].end
            raise ParseError(column, 'expected what to process, as in "process each invoice"')
        display = " ".join(t.text for t in tokens)
        return n.FactRef(line.number, tokens[0].column, normalise(display), display)

    # --- get, find, say, stop -----------------------------------------------------------------
    def _get(self, line: Line, lenient: bool) -> n.Stmt:
        """``get E`` / ``find E``, and ``get E as the N``, which also names the value."""
        tokens, head = line.tokens, line.tokens[0]
        if any(t.is_word("as") for t in tokens[2:]):

            def build(left: Sequence[Token], right: Sequence[Token], sep: Token) -> n.Stmt:
                value = self.expr(line, left, head)
                return n.Get(line.number, line.column, value, lenient, self.fact_name(line, right))

            try:
                return self.split(line, tokens, ("as",), build)
            except ParseError:
                pass
        return n.Get(line.number, line.column, self.expr(line, tokens[1:], head), lenient)

    def kw_get(self, line: Line) -> n.Stmt:
        return self._get(line, False)

    def kw_find(self, line: Line) -> n.Stmt:
        return self._get(line, True)

    def kw_say(self, line: Line) -> n.Stmt:
        return n.Say(line.number, line.column, self.expr(line, line.tokens[1:], line.tokens[0]))

    def kw_stop(self, line: Line) -> n.Stmt:
        if len(line.tokens) > 1:
            raise ParseError(line.tokens[1].column, '"stop" stands alone on its line')
        return n.Stop(line.number, line.column)

    # --- ask and validate ------------------------------------------------------------------------
    def kw_ask(self, line: Line) -> n.Stmt:
        question = self.expr(line, line.tokens[1:], line.tokens[0])
        names = ("choices", "choice", "options", "option")
        choices = self.listed(line, names, 'below "ask" only "the choices are …" may follow')
        return n.Ask(line.number, line.column, question, choices)

    def listed(self, line: Line, names: tuple[str, ...], complaint: str) -> tuple[n.Expr, ...]:
        """The values of ``the <name> are …`` in the block below ``line``; any other line there is
        an issue (``complaint``)."""
        values: tuple[n.Expr, ...] = ()
        for child in line.children:
            stmt = self.statement(child)
            if (
                isinstance(stmt, n.Define)
                and isinstance(stmt.target, n.FactRef)
                and stmt.target.name in names
            ):
                values = stmt.value.items if isinstance(stmt.value, n.ListExpr) else (stmt.value,)
            elif stmt is not None:
                self.issue(child, child.column, complaint)
        return values

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
            return self.parser(tokens, line).parse_all()
        except ParseError as err:
            self.issue(line, err.column, err.message)
            return None

    def ensure(self, line: Line) -> n.Ensure | None:
        cond = self.condition(line, line.tokens[1:], line.tokens[0])
        if cond is None:
            return None
        text = line.text.strip()[len("ensure") :].strip()
        return n.Ensure(line.number, line.column, cond, text)

    # --- changing facts ----------------------------------------------------------------------
    def kw_set(self, line: Line) -> n.Stmt:
        def build(left: Sequence[Token], right: Sequence[Token], sep: Token) -> n.Stmt:
            return n.SetFact(line.number, line.column, self.target(line, left), self.expr(line, right, sep))

        return self.split(line, line.tokens, ("to",), build)

    def kw_use(self, line: Line) -> n.Stmt:
        def build(left: Sequence[Token], right: Sequence[Token], sep: Token) -> n.Stmt:
            value = self.expr(line, left, line.tokens[0])
            return n.UseAs(line.number, line.column, value, self.fact_name(line, right))

        return self.split(line, line.tokens, ("as",), build)

    def kw_imagine(self, line: Line) -> n.Stmt:
        tokens = line.tokens
        if len(tokens) < 3 or not tokens[1].is_word(*ARTICLES):
            raise ParseError(tokens[0].end, 'expected "a", "an" or "the" after "imagine"')
        name = self.fact_name(line, tokens[1:])
        return n.Imagine(line.number, line.column, name)

    def _change(self, line: Line, op: str, preposition: str) -> n.Stmt:
        def build(left: Sequence[Token], right: Sequence[Token], sep: Token) -> n.Stmt:
            value = self.expr(line, left, line.tokens[0])
            return n.Change(line.number, line.column, op, value, self.target(line, right))

        return self.split(line, line.tokens, (preposition,), build)

    def kw_add(self, line: Line) -> n.Stmt:
        return self._change(line, "add", "to")

    def kw_subtract(self, line: Line) -> n.Stmt:
        return self._change(line, "subtract", "from")

    def kw_remove(self, line: Line) -> n.Stmt:
        return self._change(line, "remove", "from")

    def kw_convert(self, line: Line) -> n.Stmt:
        tokens = list(line.tokens)
        kind = tokens[-1] if len(tokens) > 3 else None
        if kind is None or kind.kind != WORD or kind.value not in _CONVERSIONS:
            raise ParseError(tokens[-1].column, 'expected "text", "number" or "date" after "to"')
        end = len(tokens) - 1
        if tokens[end - 1].is_word("a", "an"):
            end -= 1
        if not tokens[end - 1].is_word("to"):
            raise ParseError(tokens[end - 1].column, 'expected "to", as in "convert the total to text"')
        target = self.target(line, tokens[1 : end - 1])
        return n.Convert(line.number, line.column, target, _CONVERSIONS[str(kind.value)])

    # --- child runs --------------------------------------------------------------------------
    def _child(self, line: Line, wait: bool) -> n.Stmt:
        """``run to check the vendor where …`` / ``invoke verify the applicant with …`` (``to`` may
        be left out)."""
        tokens = self.call_tokens(line)
        words = tokens[2:] if len(tokens) > 1 and tokens[1].is_word("to") else tokens[1:]
        if not words:
            raise ParseError(line.tokens[0].end, f'expected "{line.tokens[0].text} to <procedure>"')
        phrase = " ".join(t.text for t in words)
        return n.RunChild(line.number, line.column, phrase, self.where(line), wait)

    def kw_run(self, line: Line) -> n.Stmt:
        return self._child(line, True)

    def kw_invoke(self, line: Line) -> n.Stmt:
        return self._child(line, False)

    def kw_start(self, line: Line) -> n.Stmt:
        words = [t.value for t in self.call_tokens(line)]
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

    def kw_retrieve(self, line: Line) -> n.Stmt:
        """``retrieve data from the runs`` with ``the fact names are "a", "b"`` below it."""
        words = [t.value for t in self.call_tokens(line)]
        if words not in (
            ["retrieve", "data", "from", "the", "runs"],
            ["retrieve", "the", "data", "from", "the", "runs"],
        ):
            raise ParseError(line.column, 'expected "retrieve data from the runs"')
        complaint = 'below "retrieve data from the runs" write: the fact names are "…"'
        names = self.listed(line, ("fact names", "fact name"), complaint)
        return n.Retrieve(line.number, line.column, names)
