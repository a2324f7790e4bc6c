"""Reading the references to facts in a line: ``the …``, ``a …``, and field names after ``'s``.

See ``plainrun.language.grammar`` for how the words of a name are told from grammar. A phrase with
two possible readings that the file does not settle (``the first name`` in a file that defines
neither ``first name`` nor ``names``) becomes a node that holds both and is settled by the facts
the run has; a file that defines both is refused with each reading and how to write it.
"""

from __future__ import annotations

from plainrun.language import nodes as n
from plainrun.language.cursor import Cursor, ParseError
from plainrun.language.grammar import AGGREGATES, ARTICLES, ORDINALS, VERBS, is_name_word, starts_value
from plainrun.language.names import normalise, plural
from plainrun.language.tokens import ORDINAL, STRING, WORD, Token


def quoted(tok: Token) -> str:
    """The text of a quoted name (interpolations, which a name cannot hold, are dropped)."""
    return "".join(part[1] for part in tok.value if part[0] == "text")  # type: ignore[attr-defined]


def ordinal_of(tok: Token | None) -> int | None:
    """The position an ordinal names (``3rd``: 3, ``last``: -1); None for any other token."""
    if tok is None:
        return None
    if tok.kind == ORDINAL and isinstance(tok.value, int):
        return tok.value
    if tok.kind == WORD and tok.value in ORDINALS:
        return ORDINALS[str(tok.value)]
    return None


class References(Cursor):
    """The part of the expression parser that reads names."""

    def postfix(self) -> n.Expr:
        raise NotImplementedError

    def postfix_of(self, expr: n.Expr) -> n.Expr:
        raise NotImplementedError

    # --- the words of a name ---------------------------------------------------------------
    def name_words(self, *, picking: bool = False) -> list[Token]:
        """The words of a name from here; ``picking``: the noun of an ordinal, which ``in the``
        ends too (``the first item in the list``)."""
        start = self.i
        words: list[Token] = []
        while (tok := self.peek()) is not None and tok.kind == WORD:
            nxt = self.peek(1)
            if tok.value in ("of", "in") and (tok.value == "of" or picking):
                if not words or nxt is None or nxt.kind != WORD or nxt.value in ARTICLES:
                    break
                if nxt.value in ("today", "now"):
                    break
            elif tok.value in ARTICLES and not words and not self.follows_name(1):
                pass  # `the a + the b`: a one-letter name
            elif not is_name_word(self.tokens, self.i):
                if tok.value not in ARTICLES and tok.value not in VERBS and words:
                    self.stopped = (self.i, start)
                break
            words.append(self.take())
        return words

    def follows_name(self, k: int) -> bool:
        """Whether the token ``k`` ahead continues a name."""
        return self.peek(k) is not None and is_name_word(self.tokens, self.i + k)

    def plain_length(self) -> int:
        """How many words ``name_words`` would read from here (nothing is consumed)."""
        i, stopped = self.i, self.stopped
        length = len(self.name_words())
        self.i, self.stopped = i, stopped
        return length

    def fact(self, words: list[Token], at: Token) -> n.FactRef:
        display = " ".join(t.text for t in words)
        return n.FactRef(self.line, at.column, normalise(display), display)

    def of_field(self, name: n.FactRef) -> n.Expr:
        """``the tax of the invoice``: a field, when ``of`` and an article follow the name."""
        if self.at_word("of") and self.at_word(*ARTICLES, k=1):
            self.take()
            return n.Field(self.line, name.column, self.postfix(), name.display)
        return name

    # --- the … -------------------------------------------------------------------------------
    def the(self, the: Token) -> n.Expr:
        tok = self.peek()
        if tok is None:
            raise self.error('expected a name after "the"')
        if tok.kind == STRING:
            self.take()
            text = quoted(tok).strip()
            if not text:
                raise self.error("a quoted name cannot be empty", tok)
            return self.of_field(n.FactRef(self.line, the.column, normalise(text), text))
        if tok.is_word("above") and not self.follows_name(1):
            self.take()
            return n.Above(self.line, the.column)
        known = self.context.known.longest(self.tokens, self.i)
        if known >= 2 and known >= self.plain_length() and not tok.is_word(*ORDINALS):
            words = [self.take() for _ in range(known)]
            return self.of_field(self.fact(words, the))
        if ordinal_of(tok) is not None:
            picked = self.ordinal(the, tok)
            if picked is not None:
                return picked
        if tok.kind == WORD and tok.value in AGGREGATES and self.at_word("of", k=1):
            return self.aggregate(the, tok)
        words = self.name_words()
        if not words:
            raise self.error(self._no_name(tok))
        return self.of_field(self.fact(words, the))

    def _no_name(self, tok: Token) -> str:
        if tok.kind == WORD and not starts_value(tok):
            rest = " ".join(t.text for t in self.tokens[self.i : self.i + 3] if t.kind == WORD)
            return (
                f'expected a name after "the", but "{tok.text}" is grammar here: if "{rest}" is the'
                f' name, write it in quotes (the "{rest}") or with underscores (the {rest.replace(" ", "_")})'
            )
        return f'expected a name after "the", found "{tok.text}"'

    def ordinal(self, the: Token, tok: Token) -> n.Expr | None:
        """``the first line``, ``the 3rd row of the table``, ``the last of the names``; None when the
        word is a plain name (``the first`` alone)."""
        index = ordinal_of(tok)
        assert index is not None
        if index == 0:
            raise self.error("positions start at 1st", tok)
        if (self.at_word("of", k=1) and self.at_word(*ARTICLES, k=2)) or self.at_word("the", k=1):
            self.i += 1 if self.at_word("the", k=1) else 2  # the last of the names / the last the names
            return n.Ordinal(self.line, the.column, index, "item", self.postfix(), explicit=True)
        if not self.follows_name(1):
            if tok.kind == ORDINAL:
                raise self.error('expected what to pick, as in "the 1st item"', tok)
            return None
        self.take()
        noun = normalise(" ".join(t.text for t in self.name_words(picking=True)))
        alias = normalise(f"{tok.text} {noun}") if tok.kind == WORD else None
        if self.at_word("of", "in") and starts_value(self.peek(1)):
            self.take()
            return n.Ordinal(self.line, the.column, index, noun, self.postfix(), alias, explicit=True)
        source = n.FactRef(self.line, the.column, plural(noun), plural(noun))
        if alias is None:
            return n.Ordinal(self.line, the.column, index, noun, source)
        return self._settle(the, tok, n.Ordinal(self.line, the.column, index, noun, source, alias))

    def _settle(self, the: Token, tok: Token, node: n.Ordinal) -> n.Expr:
        """An ordinal phrase that is also a name: which the file means, if it says."""
        assert node.alias is not None and isinstance(node.source, n.FactRef)
        known = self.context.known
        whole, items = known.line_of(node.alias), known.line_of(node.source.name)
        if whole is not None and items is not None:
            raise ParseError(
                the.column,
                f'"the {node.alias}" has two readings: the fact "{node.alias}" (line {whole}) or the'
                f' {tok.text} of the {node.source.name} (line {items}); write the "{node.alias}" for'
                f" the fact, or the {tok.text} of the {node.source.name} for the item",
            )
        if whole is not None:
            return n.FactRef(self.line, the.column, node.alias, node.alias)
        if items is not None:
            return n.Ordinal(self.line, the.column, node.index, node.noun, node.source)
        return node

    def aggregate(self, the: Token, tok: Token) -> n.Expr:
        """``the number of the items`` / ``the number of team members`` / ``the total of the invoice``."""
        self.i += 2
        function, word = AGGREGATES[str(tok.value)], str(tok.value)
        if starts_value(self.peek()):
            return n.Aggregate(self.line, the.column, function, self.postfix(), word)
        words = self.name_words()
        if not words:
            raise self.error(f'expected what to take the {word} of, as in "the {word} of the items"')
        operand = self.fact(words, words[0])
        alias = f"{word} of {operand.name}"
        known = self.context.known
        if known.has(alias):
            return n.FactRef(self.line, the.column, alias, f"{tok.text} of {operand.display}")
        filtered = self.postfix_of(operand)  # the number of invoices whose status is "open"
        if filtered is not operand or known.has(operand.name):
            return n.Aggregate(self.line, the.column, function, filtered, word)
        return n.Aggregate(self.line, the.column, function, operand, word, alias)

    # --- a …, and fields -----------------------------------------------------------------------
    def indefinite(self, article: Token) -> n.Expr:
        words = self.name_words()
        if not words:
            raise self.error(f'expected a name after "{article.text}"')
        return self.fact(words, article)

    def field(self, target: n.Expr, poss: Token) -> n.Expr:
        """The field after ``'s``: ``the invoice's "invoice number"``, ``the document's first address``."""
        tok = self.peek()
        if tok is not None and tok.kind == STRING:
            self.take()
            return n.Field(self.line, target.column, target, quoted(tok))
        index = ordinal_of(tok)
        if tok is not None and index is not None and self.follows_name(1):
            self.take()
            noun = " ".join(t.text for t in self.name_words(picking=True))
            return n.Field(self.line, target.column, target, f"{tok.text} {noun}", index, normalise(noun))
        words = self.name_words()
        if not words:
            raise self.error("expected a field name after 's")
        return n.Field(self.line, target.column, target, " ".join(t.text for t in words))
