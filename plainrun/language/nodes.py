"""The typed syntax tree. Every node keeps the 1-based line and column where it starts.

Nodes are frozen: a parsed program is shared by every run of it. They compare by identity
(``eq=False``): a node is one place in one file, and the equality methods, which nothing uses,
would cost a third of the module's import, which ``plainrun exec`` pays at every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    line: int
    column: int


# --- expressions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Expr(Node):
    pass


@dataclass(frozen=True, slots=True, eq=False)
class Literal(Expr):
    value: Any


@dataclass(frozen=True, slots=True, eq=False)
class Text(Expr):
    """A quoted text; ``parts`` are strings and interpolated expressions."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True, slots=True, eq=False)
class FactRef(Expr):
    name: str  # normalised
    display: str  # as written


@dataclass(frozen=True, slots=True, eq=False)
class Above(Expr):
    pass


@dataclass(frozen=True, slots=True, eq=False)
class Clock(Expr):
    kind: str  # "today" | "now"


@dataclass(frozen=True, slots=True, eq=False)
class Field(Expr):
    """``the invoice's amount`` / ``the amount of the invoice``.

    ``the document's first address`` is the field ``first address`` when the record has one, else
    the ``ordinal``-th item of its ``addresses`` (``noun`` is ``address``).
    """

    target: Expr
    name: str
    ordinal: int | None = None
    noun: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Ordinal(Expr):
    """``the first line``, ``the 3rd row of the table``, ``the last item``; ``index`` -1 is last.

    ``alias`` is the whole phrase as one name (``first name``): a fact of that name, or with an
    ``explicit`` source that is a record (``the first line of the invoice``) its field, is read
    first; both readings present at once are an error that shows each.
    """

    index: int
    noun: str
    source: Expr
    alias: str | None = None
    explicit: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Aggregate(Expr):
    """``the number of the items``, ``the sum of the amounts``, ``the number of team members``.

    On a record the word is a field (``the total of the invoice``); ``alias`` is the whole phrase
    as one name (``number of team members``), read first when such a fact exists.
    """

    function: str
    operand: Expr
    word: str = ""
    alias: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Whose(Expr):
    """``the items whose status is "open"``."""

    source: Expr
    field: str
    op: str
    value: Expr | None


@dataclass(frozen=True, slots=True, eq=False)
class Binary(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Compare(Expr):
    op: str  # = != < > <= >= contains starts ends empty in (is one of)
    left: Expr
    right: Expr | None
    negate: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Between(Expr):
    """``the amount is between 10 and 20`` (both ends included)."""

    value: Expr
    low: Expr
    high: Expr
    negate: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Logical(Expr):
    op: str  # and | or
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Negate(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True, eq=False)
class ListExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True, eq=False)
class DurationExpr(Expr):
    amount: Expr
    unit: str


@dataclass(frozen=True, slots=True, eq=False)
class ProcedureRef(Expr):
    """``/to make a pie``: a procedure named by its phrase, for ``start a run``."""

    phrase: str


@dataclass(frozen=True, slots=True, eq=False)
class CallExpr(Expr):
    """A call of a procedure by its phrase, inside an expression or as a statement."""

    procedure: str  # the phrase key of the resolved procedure
    args: tuple[Expr, ...]
    where: tuple[Define, ...] = ()


# --- statements --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Stmt(Node):
    pass


@dataclass(frozen=True, slots=True, eq=False)
class Define(Stmt):
    """``the X is E`` / ``the Xs are E, E`` / ``the invoice's status is E``."""

    target: Expr  # FactRef or Field
    value: Expr


@dataclass(frozen=True, slots=True, eq=False)
class SetFact(Stmt):
    target: Expr
    value: Expr


@dataclass(frozen=True, slots=True, eq=False)
class UseAs(Stmt):
    value: Expr
    name: FactRef


@dataclass(frozen=True, slots=True, eq=False)
class Imagine(Stmt):
    name: FactRef


@dataclass(frozen=True, slots=True, eq=False)
class Change(Stmt):
    """``add E to the X`` / ``subtract E from the X`` / ``remove E from the X``."""

    op: str  # add | subtract | remove
    value: Expr
    target: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Convert(Stmt):
    target: Expr
    to: str  # text | number | date


@dataclass(frozen=True, slots=True, eq=False)
class Say(Stmt):
    value: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Stop(Stmt):
    pass


@dataclass(frozen=True, slots=True, eq=False)
class If(Stmt):
    condition: Expr
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class ForEach(Stmt):
    name: FactRef
    source: Expr
    body: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Get(Stmt):
    """``get E`` / ``find E``, optionally ``as the N`` (which also defines N)."""

    value: Expr
    may_be_missing: bool  # find: True, get: False
    name: FactRef | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Ask(Stmt):
    question: Expr
    choices: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Ensure(Node):
    condition: Expr
    text: str


@dataclass(frozen=True, slots=True, eq=False)
class Validate(Stmt):
    checks: tuple[Ensure, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Check(Stmt):
    """A condition line in the body of an ``… if`` procedure."""

    condition: Expr


@dataclass(frozen=True, slots=True, eq=False)
class Call(Stmt):
    call: CallExpr


@dataclass(frozen=True, slots=True, eq=False)
class RunChild(Stmt):
    """``run to check the vendor where …`` (wait) / ``invoke to notify the team with …``."""

    phrase: str
    where: tuple[Define, ...]
    wait: bool


@dataclass(frozen=True, slots=True, eq=False)
class StartRun(Stmt):
    where: tuple[Define, ...]


@dataclass(frozen=True, slots=True, eq=False)
class WaitRuns(Stmt):
    pass


@dataclass(frozen=True, slots=True, eq=False)
class Retrieve(Stmt):
    """``retrieve data from the runs`` with ``the fact names are …`` below: a table, a row a run."""

    names: tuple[Expr, ...]


# --- procedures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Slot:
    """A parameter of a phrase; a ``literal`` slot takes a field name as written (``by amount``)."""

    name: str  # normalised noun
    literal: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Phrase:
    """The words of a procedure's name: literal words (lower case) and parameter slots."""

    items: tuple[str | Slot, ...]

    @property
    def key(self) -> str:
        return " ".join(f"({item.name})" if isinstance(item, Slot) else item for item in self.items)

    @property
    def params(self) -> list[str]:
        return [item.name for item in self.items if isinstance(item, Slot)]


@dataclass(frozen=True, slots=True, eq=False)
class Procedure(Node):
    name: str  # the name line as written
    kind: str  # "to" (an action), "is"/"are" (a value), "if" (a condition)
    phrase: Phrase
    body: tuple[Stmt, ...] = field(default=())
