"""The words of the grammar, and the rule that tells a grammar word from a word of a name.

A fact's name is what stands between ``the`` and the verb: ``the days to pay is 30``,
``the ship to address``, ``the amount in dollars``, ``the as of date``, ``the terms and
conditions``. Words are read as grammar only where they do grammar's work:

* ``is`` and ``are`` (the verb), ``whose``, ``then``, ``else`` and the possessive ``'s`` always
  end a name; so does an article (``the``, ``a``, ``an``), which starts a new reference.
* An operator word (``and``, ``or``, ``not``, ``plus``, ``minus``, ``times``, ``contains``,
  ``equals`` …) is an operator only when a value follows it (``the price plus the tax``); before a
  plain word it belongs to the name (``the price plus tax``, ``the terms and conditions``).
* ``of`` before an article reads a field (``the tax of the invoice``); before a plain word it
  belongs to the name (``the date of birth``).
* A leading ordinal (``first`` … ``tenth``, ``last``) picks an item (``the first line``) unless
  the whole phrase is a fact's name (``the last name``); a leading ``number of``/``sum of`` … is an
  aggregate unless the whole phrase is a fact's name (``the number of team members``).
* ``to``, ``from``, ``as``, ``in`` and ``with`` separate the parts of a statement (``set … to``,
  ``use … as``) only where the parts they leave are complete; elsewhere they belong to the name.

Names that must hold a grammar word where it does grammar's work are written in quotes
(``the "is active" is true``) or with underscores (``the is_active``).
"""

from __future__ import annotations

from collections.abc import Sequence

from plainrun.language.tokens import DATE, NUMBER, ORDINAL, STRING, WORD, Token

ARTICLES = frozenset({"the", "a", "an"})
VERBS = frozenset({"is", "are"})
#: Words that always end a name.
NAME_ENDS = VERBS | ARTICLES | {"whose", "then", "else"}
#: Operator words, read as operators only when a value follows them.
OPERATORS = frozenset(
    {
        "and",
        "or",
        "not",
        "plus",
        "minus",
        "times",
        "contains",
        "contain",
        "includes",
        "include",
        "equals",
        "exceeds",
    }
)
#: Two-word operators: the first word, and the word that must follow it (then a value).
PAIRED_OPERATORS = {"divided": "by", "multiplied": "by", "starts": "with", "ends": "with"}
VALUE_WORDS = frozenset({"the", "a", "an", "true", "false", "yes", "no", "today", "now", "not"})

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
    "smallest": "minimum",
    "lowest": "minimum",
    "maximum": "maximum",
    "largest": "maximum",
    "highest": "maximum",
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
#: Names the engine gives: the value of the last call, the child runs, a run's files and e-mail.
PROVIDED = frozenset({"above", "result", "results", "answer", "answers", "runs", "file", "files", "email"})
RESULT_NAMES = ("result", "results", "answer", "answers")


def starts_value(tok: Token | None) -> bool:
    """Whether ``tok`` can begin a value: a literal, ``(``, ``-``, or a word such as ``the``."""
    if tok is None:
        return False
    if tok.kind in (NUMBER, STRING, DATE, ORDINAL):
        return True
    if tok.kind == WORD:
        return tok.value in VALUE_WORDS
    return tok.kind == "op" and tok.value in ("(", "-")


def is_name_word(tokens: Sequence[Token], j: int) -> bool:
    """Whether ``tokens[j]`` continues a name (see the module's rules); ``of`` is left to the caller."""
    tok = tokens[j]
    if tok.kind != WORD or tok.value in NAME_ENDS:
        return False
    nxt = tokens[j + 1] if j + 1 < len(tokens) else None
    if tok.value in OPERATORS:
        if nxt is None and tok.value in ("and", "or", "not"):
            return False  # `the price and` is a condition left unfinished, not a name
        return not starts_value(nxt)  # `the delivery times`, `the price plus tax`
    if tok.value == "does":
        return not (nxt is not None and nxt.is_word("not"))
    if tok.value in PAIRED_OPERATORS:
        after = tokens[j + 2] if j + 2 < len(tokens) else None
        return not (nxt is not None and nxt.is_word(PAIRED_OPERATORS[str(tok.value)]) and starts_value(after))
    return True
