"""The typed syntax tree. Every node keeps the 1-based line and column where it starts.

A parsed program is shared by every run of it: nothing changes a node once the parser made it.
Nodes compare by identity (a node is one place in one file) and share one ``__repr__``: the
methods a dataclass would generate for each of them (equality, a repr, frozen attributes) took
three quarters of this module's import, which ``plainrun exec`` pays at every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, eq=False, repr=False)
class Node:
    line: int
    column: int

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__)
        return f"{type(self).__name__}({fields})"


# --- expressions -------------------------------------------------------------------------------


@dataclass(slots=True, eq=False, repr=False)
class Expr(Node):
    pass


@dataclass(slots=True, eq=False, repr=False)
class Literal(Expr):
    value: Any


@dataclass(slots=True, eq=False, repr=False)
class Text(Expr):
    """A quoted text; ``parts`` are strings and interpolated expressions."""

    parts: tuple[str | Expr, ...]


@dataclass(slots=True, eq=False, repr=False)
class FactRef(Expr):
    name: str  # normalised
    display: str  # as written


@dataclass(slots=True, eq=False, repr=False)
class Above(Expr):
    pass


@dataclass(slots=True, eq=False, repr=False)
class Clock(Expr):
    kind: str  # "today" | "now"


@dataclass(slots=True, eq=False, repr=False)
class Field(Expr):
    """``the invoice's amount`` / ``the amount of the invoice``.

    ``the document's first address`` is the field ``first address`` when the record has one, else
    the ``ordinal``-th item of its ``addresses`` (``noun`` is ``address``).
    """

    target: Expr
    name: str
    ordinal: int | None = None
    noun: str = ""


@dataclass(slots=True, eq=False, repr=False)
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


@dataclass(slots=True, eq=False, repr=False)
class Aggregate(Expr):
    """``the number of the items``, ``the sum of the amounts``, ``the number of team members``.

    On a record the word is a field (``the total of the invoice``); ``alias`` is the whole phrase
    as one name (``number of team members``), read first when such a fact exists.
    """

    function: str
    operand: Expr
    word: str = ""
    alias: str | None = None


@dataclass(slots=True, eq=False, repr=False)
class Whose(Expr):
    """``the items whose status is "open"``."""

    source: Expr
    field: str
    op: str
    value: Expr | None


@dataclass(slots=True, eq=False, repr=False)
class Binary(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(slots=True, eq=False, repr=False)
class Compare(Expr):
    op: str  # = != < > <= >= contains starts ends empty in (is one of)
    left: Expr
    right: Expr | None
    negate: bool = False


@dataclass(slots=True, eq=False, repr=False)
class Between(Expr):
    """``the amount is between 10 and 20`` (both ends included)."""

    value: Expr
    low: Expr
    high: Expr
    negate: bool = False


@dataclass(slots=True, eq=False, repr=False)
class Logical(Expr):
    op: str  # and | or
    left: Expr
    right: Expr


@dataclass(slots=True, eq=False, repr=False)
class Not(Expr):
    operand: Expr


@dataclass(slots=True, eq=False, repr=False)
class Negate(Expr):
    operand: Expr


@dataclass(slots=True, eq=False, repr=False)
class ListExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(slots=True, eq=False, repr=False)
class DurationExpr(Expr):
    amount: Expr
    unit: str


@dataclass(slots=True, eq=False, repr=False)
class ProcedureRef(Expr):
    """``/to make a pie``: a procedure named by its phrase, for ``start a run``."""

    phrase: str


@dataclass(slots=True, eq=False, repr=False)
class CallExpr(Expr):
    """A call of a procedure by its phrase, inside an expression or as a statement."""

    procedure: str  # the phrase key of the resolved procedure
    args: tuple[Expr, ...]
    where: tuple[Define, ...] = ()


# --- statements --------------------------------------------------------------------------------


@dataclass(slots=True, eq=False, repr=False)
class Stmt(Node):
    pass


@dataclass(slots=True, eq=False, repr=False)
class Define(Stmt):
    """``the X is E`` / ``the Xs are E, E`` / ``the invoice's status is E``."""

    target: Expr  # FactRef or Field
    value: Expr


@dataclass(slots=True, eq=False, repr=False)
class SetFact(Stmt):
    target: Expr
    value: Expr


@dataclass(slots=True, eq=False, repr=False)
class UseAs(Stmt):
    value: Expr
    name: FactRef


@dataclass(slots=True, eq=False, repr=False)
class Imagine(Stmt):
    name: FactRef


@dataclass(slots=True, eq=False, repr=False)
class Change(Stmt):
    """``add E to the X`` / ``subtract E from the X`` / ``remove E from the X``."""

    op: str  # add | subtract | remove
    value: Expr
    target: Expr


@dataclass(slots=True, eq=False, repr=False)
class Convert(Stmt):
    target: Expr
    to: str  # text | number | date


@dataclass(slots=True, eq=False, repr=False)
class Say(Stmt):
    value: Expr


@dataclass(slots=True, eq=False, repr=False)
class Stop(Stmt):
    pass


@dataclass(slots=True, eq=False, repr=False)
class If(Stmt):
    condition: Expr
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...] = ()


@dataclass(slots=True, eq=False, repr=False)
class ForEach(Stmt):
    name: FactRef
    source: Expr
    body: tuple[Stmt, ...]


@dataclass(slots=True, eq=False, repr=False)
class Get(Stmt):
    """``get E`` / ``find E``, optionally ``as the N`` (which also defines N)."""

    value: Expr
    may_be_missing: bool  # find: True, get: False
    name: FactRef | None = None


@dataclass(slots=True, eq=False, repr=False)
class Ask(Stmt):
    question: Expr
    choices: tuple[Expr, ...] = ()


@dataclass(slots=True, eq=False, repr=False)
class Ensure(Node):
    condition: Expr
    text: str


@dataclass(slots=True, eq=False, repr=False)
class Validate(Stmt):
    checks: tuple[Ensure, ...]


@dataclass(slots=True, eq=False, repr=False)
class Check(Stmt):
    """A condition line in the body of an ``… if`` procedure."""

    condition: Expr


@dataclass(slots=True, eq=False, repr=False)
class Call(Stmt):
    call: CallExpr


@dataclass(slots=True, eq=False, repr=False)
class RunChild(Stmt):
    """``run to check the vendor where …`` (wait) / ``invoke to notify the team with …``."""

    phrase: str
    where: tuple[Define, ...]
    wait: bool


@dataclass(slots=True, eq=False, repr=False)
class StartRun(Stmt):
    where: tuple[Define, ...]


@dataclass(slots=True, eq=False, repr=False)
class WaitRuns(Stmt):
    pass


@dataclass(slots=True, eq=False, repr=False)
class Retrieve(Stmt):
    """``retrieve data from the runs`` with ``the fact names are …`` below: a table, a row a run."""

    names: tuple[Expr, ...]


# --- procedures --------------------------------------------------------------------------------


@dataclass(slots=True, eq=False, repr=False)
class Slot:
    """A parameter of a phrase; a ``literal`` slot takes a field name as written (``by amount``)."""

    name: str  # normalised noun
    literal: bool = False


@dataclass(slots=True, eq=False, repr=False)
class Phrase:
    """The words of a procedure's name: literal words (lower case) and parameter slots."""

    items: tuple[str | Slot, ...]

    @property
    def key(self) -> str:
        return " ".join(f"({item.name})" if isinstance(item, Slot) else item for item in self.items)

    @property
    def params(self) -> list[str]:
        return [item.name for item in self.items if isinstance(item, Slot)]


@dataclass(slots=True, eq=False, repr=False)
class Procedure(Node):
    name: str  # the name line as written
    kind: str  # "to" (an action), "is"/"are" (a value), "if" (a condition)
    phrase: Phrase
    body: tuple[Stmt, ...] = field(default=())
