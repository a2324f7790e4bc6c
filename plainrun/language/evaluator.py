"""Turning expressions into Python closures ``value(frame)``.

A node that may fail records its column on the error, so that the exception a run pauses on
points at the part of the line that failed. The phrases with two readings (``the first name``,
``the number of team members``, ``the document's first address``) are settled here by the facts
the run has: the whole phrase as a name first, and both present at once is an error that shows
each reading.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from plainrun.language import nodes as n
from plainrun.language.arithmetic import arithmetic, number_of
from plainrun.language.comparison import COMPARISONS, between, truthy
from plainrun.language.errors import MissingFact, ProcessRuntimeError
from plainrun.language.names import plural
from plainrun.language.runtime import MISSING, Frame, Runtime
from plainrun.language.tables import aggregate, field_of, pick, whose
from plainrun.language.values import NOT_FOUND, Duration, Percent, Value, get_field, to_text

Eval = Callable[[Frame], Value]
Condition = Callable[[Frame], bool]


def describe(node: n.Expr) -> str:
    """How a message names the value of ``node``: ``invoice's total``, ``above``."""
    if isinstance(node, n.FactRef):
        return node.display
    if isinstance(node, n.Field):
        return f"{describe(node.target)}'s {node.name}"
    if isinstance(node, n.Above):
        return "above"
    return "value"


def at(err: ProcessRuntimeError, node: n.Node) -> ProcessRuntimeError:
    """``err``, placed at ``node``'s column unless a part of it already placed it."""
    if err.column is None:
        err.column = node.column
    return err


class ExprCompiler:
    def __init__(self, rt: Runtime):
        self.rt = rt

    def call(self, node: n.CallExpr) -> Eval:
        raise NotImplementedError

    def condition(self, node: n.Expr) -> Condition:
        value = self.expr(node)
        if isinstance(node, n.Compare | n.Between | n.Logical | n.Not):
            return value  # already true or false
        return lambda frame: truthy(value(frame))

    def expr(self, node: n.Expr, mode: str = "normal") -> Eval:
        """``mode``: normal; ``get`` (a missing field raises); ``find`` (a missing fact is Not Found)."""
        compiled: Eval = getattr(self, f"e_{type(node).__name__}")(node, mode)
        return compiled

    # --- values --------------------------------------------------------------------------------
    def e_Literal(self, node: n.Literal, mode: str) -> Eval:
        value = node.value
        return lambda frame: value

    def e_Text(self, node: n.Text, mode: str) -> Eval:
        parts = [(part if isinstance(part, str) else self.expr(part, mode)) for part in node.parts]
        rt = self.rt

        def text(frame: Frame) -> Value:
            out = "".join(part if isinstance(part, str) else to_text(part(frame)) for part in parts)
            return rt.check_value(out, node)

        return text

    def e_FactRef(self, node: n.FactRef, mode: str) -> Eval:
        name = node.name
        missing = self.rt.missing
        lenient = mode == "find"

        def read(frame: Frame) -> Value:
            value = frame.facts.get(name, MISSING)
            if value is MISSING:
                return missing(frame, node, lenient)
            return value

        return read

    def e_Above(self, node: n.Above, mode: str) -> Eval:
        return lambda frame: frame.above

    def e_Clock(self, node: n.Clock, mode: str) -> Eval:
        rt = self.rt
        return lambda frame: rt.clock(node.kind, node)

    def e_ProcedureRef(self, node: n.ProcedureRef, mode: str) -> Eval:
        phrase = node.phrase
        return lambda frame: phrase

    def e_CallExpr(self, node: n.CallExpr, mode: str) -> Eval:
        return self.call(node)

    def e_ListExpr(self, node: n.ListExpr, mode: str) -> Eval:
        """A list; an item that is itself a list (or a table) is spliced in, not nested."""
        items = [self.expr(item, mode) for item in node.items]

        def values(frame: Frame) -> Value:
            out: list[Value] = []
            for item in items:
                value = item(frame)
                if isinstance(value, list):
                    out.extend(value)
                elif value is not NOT_FOUND:
                    out.append(value)
            return out

        return values

    def e_DurationExpr(self, node: n.DurationExpr, mode: str) -> Eval:
        amount = self.expr(node.amount, mode)

        def duration(frame: Frame) -> Value:
            number = number_of(amount(frame))
            if not isinstance(number, int | Decimal):
                raise ProcessRuntimeError("a duration needs a plain number", column=node.column)
            return Duration(number, node.unit)

        return duration

    # --- fields, items and aggregates ------------------------------------------------------------
    def e_Field(self, node: n.Field, mode: str) -> Eval:
        target = self.expr(node.target, mode)
        name, strict, ordinal = node.name, mode == "get", node.ordinal
        items_name = plural(node.noun) if node.noun else ""

        def field(frame: Frame) -> Value:
            owner = target(frame)
            if type(owner) is dict:
                value = owner.get(name, MISSING)
                if value is MISSING:
                    value = get_field(owner, name)
                if value is NOT_FOUND and ordinal is not None and (items := get_field(owner, items_name)):
                    return pick(items, ordinal, node.noun, f"{describe(node.target)}'s {items_name}")
            else:
                value = field_of(owner, name)
            if value is NOT_FOUND and strict:
                raise MissingFact(
                    f"the {describe(node.target)} has no {name}",
                    facts=[f"{describe(node.target)}'s {name}"],
                    column=node.column,
                )
            return value

        return field

    def e_Ordinal(self, node: n.Ordinal, mode: str) -> Eval:
        if node.alias is not None and not node.explicit:
            return self._picked_or_named(node, mode)
        source = self.expr(node.source, mode)
        what = describe(node.source)
        alias, items_name = node.alias, plural(node.noun)

        def picked(frame: Frame) -> Value:
            value = source(frame)
            if isinstance(value, dict):
                if alias is not None and (whole := get_field(value, alias)) is not NOT_FOUND:
                    return whole
                value = get_field(value, items_name)
                if value is NOT_FOUND:
                    raise MissingFact(
                        f"the {what} has no {alias or items_name}", facts=[what], column=node.column
                    )
            try:
                return pick(value, node.index, node.noun, what)
            except ProcessRuntimeError as err:
                raise at(err, node) from None

        return picked

    def _picked_or_named(self, node: n.Ordinal, mode: str) -> Eval:
        """``the first name``: the fact ``first name``, or else the first of ``the names``."""
        assert node.alias is not None and isinstance(node.source, n.FactRef)
        rt, alias, items = self.rt, node.alias, node.source
        named = n.FactRef(node.line, node.column, alias, alias)
        lookup, lenient = rt.lookup, mode == "find"

        def settle(frame: Frame) -> Value:
            whole, listed = lookup(frame, alias), lookup(frame, items.name)
            if whole is not MISSING and listed is not MISSING:
                raise ProcessRuntimeError(
                    f'"the {alias}" has two readings here, the fact "{alias}" and the'
                    f' {alias.split(" ")[0]} of the {items.name}; write the "{alias}" for the fact, or'
                    f" the {alias.split(' ')[0]} of the {items.name} for the item",
                    facts=[alias, items.name],
                    column=node.column,
                )
            if whole is not MISSING:
                return whole
            if listed is MISSING:
                return rt.missing(frame, named, lenient)
            return pick(listed, node.index, node.noun, items.display)

        return settle

    def e_Aggregate(self, node: n.Aggregate, mode: str) -> Eval:
        operand = self.expr(node.operand, mode)
        lookup, alias, word = self.rt.lookup, node.alias, node.word

        def total(frame: Frame) -> Value:
            if alias is not None and (whole := lookup(frame, alias)) is not MISSING:
                return whole
            value = operand(frame)
            try:
                if isinstance(value, dict) and word:
                    found = get_field(value, word)
                    if found is NOT_FOUND:
                        what = describe(node.operand)
                        raise MissingFact(f"the {what} has no {word}", facts=[f"{what}'s {word}"])
                    return found
                return aggregate(node.function, value)
            except ProcessRuntimeError as err:
                raise at(err, node) from None

        return total

    def e_Whose(self, node: n.Whose, mode: str) -> Eval:
        source = self.expr(node.source, mode)
        value = self.expr(node.value, mode) if node.value is not None else (lambda frame: None)

        def chosen(frame: Frame) -> Value:
            try:
                return whose(source(frame), node.field, node.op, value(frame))
            except ProcessRuntimeError as err:
                raise at(err, node) from None

        return chosen

    # --- arithmetic and conditions -----------------------------------------------------------------
    def e_Binary(self, node: n.Binary, mode: str) -> Eval:
        left, right = self.expr(node.left, mode), self.expr(node.right, mode)
        op, rt = node.op, self.rt
        sides = (node.left, node.right)

        def calculate(frame: Frame) -> Value:
            a, b = left(frame), right(frame)
            if (
                type(a) is int
                and type(b) is int
                and op != "/"
                and -(2**62) < a < 2**62
                and -(2**62) < b < 2**62
            ):
                return a + b if op == "+" else a - b if op == "-" else a * b
            if a is NOT_FOUND or b is NOT_FOUND:
                empty = [describe(side) for side, v in zip(sides, (a, b), strict=True) if v is NOT_FOUND]
                raise MissingFact(
                    f"the {empty[0]} is Not Found, so it cannot be calculated with",
                    facts=empty,
                    column=node.column,
                )
            try:
                result = arithmetic(op, a, b)
            except ProcessRuntimeError as err:
                raise at(err, node) from None
            return rt.check_value(result, node) if isinstance(result, str | list) else result

        return calculate

    def e_Compare(self, node: n.Compare, mode: str) -> Eval:
        left = self.expr(node.left, mode)
        right = self.expr(node.right, mode) if node.right is not None else (lambda frame: None)
        check, negate = COMPARISONS[node.op], node.negate
        literal = node.right.value if isinstance(node.right, n.Literal) else None
        if node.op == "=" and not negate and isinstance(literal, str):
            wanted = literal.strip().casefold()

            def equals_text(frame: Frame) -> bool:
                a = left(frame)
                return (type(a) is str and a.strip().casefold() == wanted) or check(a, literal)

            return equals_text

        def compared(frame: Frame) -> bool:
            try:
                return check(left(frame), right(frame)) != negate
            except ProcessRuntimeError as err:
                raise at(err, node) from None

        return compared

    def e_Between(self, node: n.Between, mode: str) -> Eval:
        value, low, high = self.expr(node.value, mode), self.expr(node.low, mode), self.expr(node.high, mode)
        negate = node.negate

        def within(frame: Frame) -> Value:
            try:
                return between(value(frame), low(frame), high(frame)) != negate
            except ProcessRuntimeError as err:
                raise at(err, node) from None

        return within

    def e_Logical(self, node: n.Logical, mode: str) -> Eval:
        left, right = self.condition(node.left), self.condition(node.right)
        if node.op == "and":
            return lambda frame: left(frame) and right(frame)
        return lambda frame: left(frame) or right(frame)

    def e_Not(self, node: n.Not, mode: str) -> Eval:
        operand = self.condition(node.operand)
        return lambda frame: not operand(frame)

    def e_Negate(self, node: n.Negate, mode: str) -> Eval:
        operand = self.expr(node.operand, mode)

        def negated(frame: Frame) -> Value:
            value = operand(frame)
            if isinstance(value, Percent):
                return Percent(arithmetic("-", 0, value.points))
            try:
                return arithmetic("-", 0, value)
            except ProcessRuntimeError as err:
                raise at(err, node) from None

        return negated
