"""Turning the syntax tree into Python closures that run against a ``Frame``.

Each statement becomes a function ``run(frame)`` wrapped so that an error inside it becomes an
exception on its line (``Runtime.exception``), and guidance to retry or skip applies to it.
Expressions become functions ``value(frame)``. Compiling once per run keeps dispatch out of loops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from plainrun.language import nodes as n
from plainrun.language import operations as ops
from plainrun.language.errors import LimitExceeded, MissingFact, ProcessRuntimeError
from plainrun.language.names import normalise
from plainrun.language.runtime import MISSING, Frame, PredicateFalse, RetryStep, Runtime, SkipStep, StopRun
from plainrun.language.values import NOT_FOUND, Duration, Value, get_field, set_field, to_text

Run = Callable[[Frame], None]
Eval = Callable[[Frame], Value]

_PYTHON_ERRORS = (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class Compiler:
    def __init__(self, rt: Runtime):
        self.rt = rt
        self.procedures: dict[str, Callable[[Frame], None]] = {}

    # --- statements ----------------------------------------------------------------------------
    def block(self, stmts: Sequence[n.Stmt]) -> Run:
        runs = tuple(self.statement(s) for s in stmts)
        if len(runs) == 1:
            return runs[0]

        def run_block(frame: Frame) -> None:
            for run in runs:
                run(frame)

        return run_block

    def statement(self, node: n.Stmt) -> Run:
        inner: Run = getattr(self, f"s_{type(node).__name__}")(node)
        rt = self.rt
        given: Run | None = None
        if isinstance(node, n.Define | n.SetFact):
            # Guidance with a value for a failed definition gives the fact that value.
            given = self.assign(node.target, lambda frame: frame.above)

        def run(frame: Frame) -> None:
            rt.steps += 1
            if rt.steps >= rt.next_memory_check or rt.steps > rt.limits.max_steps:
                rt.steps -= 1
                rt.step(node)
            while True:
                try:
                    inner(frame)
                    return
                except RetryStep:
                    continue
                except SkipStep:
                    return
                except ProcessRuntimeError as err:
                    kind, message, facts = err.kind, err.message, err.facts
                except RecursionError:
                    rt.limit("the process calls itself too deeply", node)
                except _PYTHON_ERRORS as err:
                    kind, message, facts = "error", f"this step failed: {err}", []
                try:
                    rt.frame = frame
                    frame.above = rt.exception(kind, message, node, facts=facts)
                    if given is not None:
                        given(frame)
                    return
                except RetryStep:
                    continue
                except SkipStep:
                    return

        return run

    def s_Define(self, node: n.Define) -> Run:
        return self.assign(node.target, self.expr(node.value))

    def s_SetFact(self, node: n.SetFact) -> Run:
        return self.assign(node.target, self.expr(node.value))

    def assign(self, target: n.Expr, value: Eval, after: Callable[[Frame, Value], None] | None = None) -> Run:
        rt = self.rt
        if isinstance(target, n.FactRef):
            name = target.name

            def define(frame: Frame) -> None:
                v = value(frame)
                if isinstance(v, str | list):
                    rt.check_value(v, target)
                frame.facts[name] = v

            return define
        assert isinstance(target, n.Field)
        record = self.expr(target.target)
        field = target.name

        def define_field(frame: Frame) -> None:
            owner = record(frame)
            if not isinstance(owner, dict):
                raise ProcessRuntimeError(
                    f"cannot set the {field} of {to_text(owner)[:40] or 'nothing'}: it is not a record"
                )
            set_field(owner, field, value(frame))

        return define_field

    def s_UseAs(self, node: n.UseAs) -> Run:
        return self.assign(node.name, self.expr(node.value))

    def s_Imagine(self, node: n.Imagine) -> Run:
        name = node.name.name

        def imagine(frame: Frame) -> None:
            frame.facts[name] = {}

        return imagine

    def s_Change(self, node: n.Change) -> Run:
        value = self.expr(node.value)
        current = self.expr(node.target)
        op = node.op
        rt = self.rt
        box: list[Any] = []
        store = self.assign(node.target, lambda frame: box[0])

        def change(frame: Frame) -> None:
            amount = value(frame)
            old = current(frame)
            if isinstance(old, list):
                if op == "add":
                    old.append(amount)
                    if len(old) > rt.limits.max_list_items:
                        raise LimitExceeded(f"a list passed the limit of {rt.limits.max_list_items} items")
                elif op == "remove":
                    old[:] = [item for item in old if not ops.equals(item, amount)]
                else:
                    raise ProcessRuntimeError("cannot subtract from a list; use remove")
                return
            if op == "remove":
                raise ProcessRuntimeError(f"can only remove from a list, not from {to_text(old)[:40]}")
            box[:] = [ops.arithmetic("+" if op == "add" else "-", old, amount)]
            store(frame)

        return change

    def s_Convert(self, node: n.Convert) -> Run:
        current = self.expr(node.target)
        rt = self.rt
        box: list[Any] = []
        store = self.assign(node.target, lambda frame: box[0])

        def convert(frame: Frame) -> None:
            old = current(frame)
            try:
                new = ops.convert(old, node.to)
            except ProcessRuntimeError as err:
                rt.frame = frame
                new = rt.exception("conversion", err.message, node, facts=_names(node.target))
            box[:] = [new]
            store(frame)
            frame.above = new

        return convert

    def s_Say(self, node: n.Say) -> Run:
        value = self.expr(node.value)
        rt = self.rt

        def say(frame: Frame) -> None:
            rt.say(to_text(value(frame)))

        return say

    def s_Stop(self, node: n.Stop) -> Run:
        def stop(frame: Frame) -> None:
            raise StopRun

        return stop

    def s_If(self, node: n.If) -> Run:
        condition = self.condition(node.condition)
        body = self.block(node.body)
        orelse = self.block(node.orelse) if node.orelse else None

        def run_if(frame: Frame) -> None:
            if condition(frame):
                body(frame)
            elif orelse is not None:
                orelse(frame)

        return run_if

    def s_ForEach(self, node: n.ForEach) -> Run:
        source = self.expr(node.source)
        body = self.block(node.body)
        name = node.name.name
        rt = self.rt
        ceiling = rt.limits.max_loop_iterations

        def for_each(frame: Frame) -> None:
            items = ops.items_of(source(frame))
            facts = frame.facts
            for item in list(items):
                rt.iterations += 1
                if rt.iterations > ceiling:
                    rt.limit(f"the run passed its limit of {ceiling} loop iterations", node)
                facts[name] = item
                body(frame)

        return for_each

    def s_Get(self, node: n.Get) -> Run:
        value = self.expr(node.value, mode="find" if node.may_be_missing else "get")

        def get(frame: Frame) -> None:
            frame.above = value(frame)

        return get

    def s_Ask(self, node: n.Ask) -> Run:
        question = self.expr(node.question)
        choices = [self.expr(choice) for choice in node.choices]
        rt = self.rt

        def ask(frame: Frame) -> None:
            text = to_text(question(frame))
            options = [to_text(choice(frame)) for choice in choices]
            rt.frame = frame
            try:
                answer = rt.exception("ask", text, node, choices=options)
            except SkipStep:
                frame.above = NOT_FOUND
                return
            for option in options:
                if ops.equals(option, answer):
                    answer = option
            frame.above = answer

        return ask

    def s_Validate(self, node: n.Validate) -> Run:
        checks = [(check, self.condition(check.condition)) for check in node.checks]
        rt = self.rt

        def validate(frame: Frame) -> None:
            failed = [check for check, condition in checks if not condition(frame)]
            if not failed:
                return
            facts: list[str] = []
            for check in failed:
                facts.extend(name for name in _names(check.condition) if name not in facts)
            question = "These checks failed: " + "; ".join(check.text for check in failed)
            rt.frame = frame
            rt.exception("validate", question, node, facts=facts)

        return validate

    def s_Check(self, node: n.Check) -> Run:
        condition = self.condition(node.condition)

        def check(frame: Frame) -> None:
            if not condition(frame):
                raise PredicateFalse

        return check

    def s_Call(self, node: n.Call) -> Run:
        call = self.expr(node.call)

        def run_call(frame: Frame) -> None:
            value = call(frame)
            frame.above = value
            frame.last_result = value

        return run_call

    def where(self, defines: Sequence[n.Define]) -> Callable[[Frame], dict[str, Value]]:
        parts = [
            (d.target.display if isinstance(d.target, n.FactRef) else "", self.expr(d.value)) for d in defines
        ]

        def values(frame: Frame) -> dict[str, Value]:
            return {name: value(frame) for name, value in parts}

        return values

    def s_RunChild(self, node: n.RunChild) -> Run:
        inputs = self.where(node.where)
        rt = self.rt

        def run_child(frame: Frame) -> None:
            child = rt.start_child(node.phrase, inputs(frame), node)
            if not node.wait:
                frame.above = child
                return
            outputs = rt.wait_children([child], node)
            result = (outputs[0] if outputs else {}) if isinstance(outputs, list) else outputs
            frame.above = result
            frame.last_result = result

        return run_child

    def s_StartRun(self, node: n.StartRun) -> Run:
        inputs = self.where(node.where)
        rt = self.rt

        def start_run(frame: Frame) -> None:
            values = inputs(frame)
            procedure = next(value for name, value in values.items() if normalise(name) == "procedure")
            values = {name: value for name, value in values.items() if normalise(name) != "procedure"}
            if len(frame.runs) >= rt.limits.max_children:
                raise LimitExceeded(f"a run may start at most {rt.limits.max_children} child runs at once")
            frame.runs.append(rt.start_child(to_text(procedure), values, node))
            frame.above = frame.runs[-1]

        return start_run

    def s_WaitRuns(self, node: n.WaitRuns) -> Run:
        rt = self.rt

        def wait_runs(frame: Frame) -> None:
            outputs = rt.wait_children(frame.runs, node)
            if not isinstance(outputs, list):
                outputs = [outputs]  # a value given by guidance in place of the children's outputs
            frame.runs = []
            frame.facts["runs"] = outputs
            frame.above = outputs

        return wait_runs

    # --- procedures ----------------------------------------------------------------------------
    def procedure_body(self, procedure: n.Procedure) -> Run:
        key = procedure.phrase.key
        if key not in self.procedures:
            holder: list[Run] = []
            self.procedures[key] = lambda frame: holder[0](frame)
            holder.append(self.block(procedure.body))
        return self.procedures[key]

    def call(self, node: n.CallExpr) -> Eval:
        rt = self.rt
        args = [self.expr(arg) for arg in node.args]
        where = self.where(node.where)
        procedure = rt.program.procedure(node.procedure)
        if procedure is None:
            book = rt.library.get(node.procedure)
            if book is None:
                raise ProcessRuntimeError(f"no procedure {node.procedure}")

            def call_book(frame: Frame) -> Value:
                values = [arg(frame) for arg in args]
                rt.frame = frame
                return rt.call_book(book, values, where(frame), node)

            return call_book
        params = procedure.phrase.params
        kind = procedure.kind
        max_depth = rt.limits.max_depth
        body = self.procedure_body(procedure)

        def call_procedure(frame: Frame) -> Value:
            facts = dict(zip(params, (arg(frame) for arg in args), strict=True))
            facts.update((normalise(name), value) for name, value in where(frame).items())
            if frame.depth + 1 > max_depth:
                raise LimitExceeded(f"procedures call each other deeper than the limit of {max_depth}")
            inner = Frame(facts, frame.globals, frame.depth + 1)
            try:
                body(inner)
            except PredicateFalse:
                return False
            result = facts.get("result", facts.get("results", MISSING))
            if kind == "if":
                return True if result is MISSING else ops.truthy(result)
            return NOT_FOUND if result is MISSING else result

        return call_procedure

    # --- expressions ---------------------------------------------------------------------------
    def condition(self, node: n.Expr) -> Callable[[Frame], bool]:
        value = self.expr(node)
        truthy = ops.truthy
        return lambda frame: truthy(value(frame))

    def expr(self, node: n.Expr, mode: str = "normal") -> Eval:
        """``mode``: normal; ``get`` (a missing field raises); ``find`` (a missing fact is Not Found)."""
        return getattr(self, f"e_{type(node).__name__}")(node, mode)

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

    def e_Field(self, node: n.Field, mode: str) -> Eval:
        target = self.expr(node.target, mode)
        name = node.name
        strict = mode == "get"
        field_of = ops.field_of

        def field(frame: Frame) -> Value:
            owner = target(frame)
            if type(owner) is dict:
                value = owner.get(name, MISSING)
                if value is MISSING:
                    value = get_field(owner, name)
            else:
                value = field_of(owner, name)
            if value is NOT_FOUND and strict:
                raise MissingFact(
                    f"the {_describe(node.target)} has no {name}",
                    facts=[f"{_describe(node.target)}'s {name}"],
                )
            return value

        return field

    def e_Ordinal(self, node: n.Ordinal, mode: str) -> Eval:
        source = self.expr(node.source, mode)
        what = _describe(node.source)
        return lambda frame: ops.pick(source(frame), node.index, node.noun, what)

    def e_Aggregate(self, node: n.Aggregate, mode: str) -> Eval:
        operand = self.expr(node.operand, mode)
        return lambda frame: ops.aggregate(node.function, operand(frame))

    def e_Whose(self, node: n.Whose, mode: str) -> Eval:
        source = self.expr(node.source, mode)
        value = self.expr(node.value, mode) if node.value is not None else (lambda frame: None)
        return lambda frame: ops.whose(source(frame), node.field, node.op, value(frame))

    def e_Binary(self, node: n.Binary, mode: str) -> Eval:
        left, right = self.expr(node.left, mode), self.expr(node.right, mode)
        op = node.op
        arithmetic = ops.arithmetic
        rt = self.rt
        sides = ((node.left, "left"), (node.right, "right"))

        def calculate(frame: Frame) -> Value:
            a, b = left(frame), right(frame)
            if type(a) is int and type(b) is int and op != "/":
                return a + b if op == "+" else a - b if op == "-" else a * b
            if a is NOT_FOUND or b is NOT_FOUND:
                empty = [
                    _describe(side) for side, which in sides if (a if which == "left" else b) is NOT_FOUND
                ]
                raise MissingFact(
                    f"the {empty[0]} is Not Found, so it cannot be calculated with", facts=empty
                )
            result = arithmetic(op, a, b)
            return rt.check_value(result, node) if isinstance(result, str | list) else result

        return calculate

    def e_Compare(self, node: n.Compare, mode: str) -> Eval:
        left = self.expr(node.left, mode)
        right = self.expr(node.right, mode) if node.right is not None else (lambda frame: None)
        op, negate = node.op, node.negate
        compare = ops.compare
        if (
            op == "="
            and not negate
            and isinstance(node.right, n.Literal)
            and isinstance(node.right.value, str)
        ):
            wanted = node.right.value.strip().casefold()
            literal = node.right.value

            def equals_text(frame: Frame) -> bool:
                a = left(frame)
                if type(a) is str and a.strip().casefold() == wanted:
                    return True
                return compare("=", a, literal)

            return equals_text
        return lambda frame: compare(op, left(frame), right(frame)) != negate

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
        return lambda frame: ops.arithmetic("-", 0, operand(frame))

    def e_ListExpr(self, node: n.ListExpr, mode: str) -> Eval:
        items = [self.expr(item, mode) for item in node.items]
        if not items:
            return lambda frame: []
        if len(items) == 1:
            only = items[0]

            def one(frame: Frame) -> Value:
                value = only(frame)
                return list(value) if isinstance(value, list) else [value]

            return one
        return lambda frame: [item(frame) for item in items]

    def e_DurationExpr(self, node: n.DurationExpr, mode: str) -> Eval:
        amount = self.expr(node.amount, mode)

        def duration(frame: Frame) -> Value:
            number = ops.to_number(amount(frame))
            if not isinstance(number, int | Decimal):
                raise ProcessRuntimeError("a duration needs a plain number")
            return Duration(number, node.unit)

        return duration

    def e_ProcedureRef(self, node: n.ProcedureRef, mode: str) -> Eval:
        phrase = node.phrase
        return lambda frame: phrase

    def e_CallExpr(self, node: n.CallExpr, mode: str) -> Eval:
        return self.call(node)


def _describe(node: n.Expr) -> str:
    if isinstance(node, n.FactRef):
        return node.display
    if isinstance(node, n.Field):
        return f"{_describe(node.target)}'s {node.name}"
    if isinstance(node, n.Above):
        return "above"
    return "value"


def _names(node: n.Expr) -> list[str]:
    """The facts an expression reads, as written."""
    from plainrun.language.discovery import _reads

    out: list[str] = []
    for ref in _reads(node):
        if ref.display not in out:
            out.append(ref.display)
    return out
