"""Turning the syntax tree into Python closures that run against a ``Frame``.

Each statement becomes a function ``run(frame)`` wrapped so that an error inside it becomes an
exception on its line (``Runtime.exception``), and guidance to retry or skip applies to it. The
exception names the line, the column of the part that failed, and the facts the statement reads
with their values; an error from Python itself is reported the same way, never with its text.
Expressions become functions ``value(frame)`` (``ExprCompiler``). Compiling once per run keeps
dispatch out of loops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from plainrun.language import nodes as n
from plainrun.language.arithmetic import arithmetic, bounded, exact
from plainrun.language.childruns import ChildRunCompiler
from plainrun.language.comparison import equals, truthy
from plainrun.language.conversion import convert
from plainrun.language.discovery import reads, statement_reads
from plainrun.language.errors import LimitExceeded, ProcessRuntimeError, StateError
from plainrun.language.evaluator import Eval, at
from plainrun.language.grammar import RESULT_NAMES
from plainrun.language.names import normalise
from plainrun.language.runtime import MISSING, Frame, PredicateFalse, RetryStep, Runtime, SkipStep, StopRun
from plainrun.language.tables import items_of
from plainrun.language.values import NOT_FOUND, Value, set_field, to_text

logger = logging.getLogger(__name__)

Run = Callable[[Frame], None]


def names_in(node: n.Expr) -> list[str]:
    """The facts an expression reads, as written."""
    out: list[str] = []
    for ref in reads(node):
        if ref.display not in out:
            out.append(ref.display)
    return out


class Compiler(ChildRunCompiler):
    def __init__(self, rt: Runtime):
        super().__init__(rt)
        self.procedures: dict[str, Run] = {}

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
            if rt.steps >= rt.next_check:
                rt.check_steps(node)
            while True:
                try:
                    inner(frame)
                    return
                except (RetryStep, SkipStep) as signal:
                    if isinstance(signal, SkipStep):
                        return
                    continue
                except RecursionError:
                    rt.limit("the process calls itself too deeply", node)
                except StateError:
                    raise
                except ProcessRuntimeError as err:
                    failure = self.failure(node, frame, err.kind, err.message, err.facts, err.column)
                except Exception as err:  # a fault of the interpreter or of Python: never its text
                    logger.debug("step on line %s failed", node.line, exc_info=err)
                    failure = self.failure(node, frame, "error", "this step could not be done", [], None)
                try:
                    rt.frame = frame
                    frame.above = rt.exception(*failure[:2], node, facts=failure[2], column=failure[3])
                    if given is not None:
                        given(frame)
                    return
                except RetryStep:
                    continue
                except SkipStep:
                    return

        return run

    def failure(
        self, node: n.Stmt, frame: Frame, kind: str, message: str, facts: list[str], column: int | None
    ) -> tuple[str, str, list[str], int | None]:
        """The exception for a failed step: its message with the facts the step reads and their
        values, unless the error named its own facts."""
        if facts or kind in ("missing", "book", "limit"):
            return kind, message, facts, column
        shown: list[str] = []
        for ref in statement_reads(node):
            value = self.rt.lookup(frame, ref.name)
            if value is not MISSING and ref.display not in facts:
                facts.append(ref.display)
                text = to_text(value)
                shown.append(
                    f'the {ref.display} is "{text[:40]}"'
                    if isinstance(value, str)
                    else f"the {ref.display} is {text[:40]}"
                )
        note = f" ({'; '.join(shown)})" if shown else ""
        return kind, message + note, facts, column

    def s_Define(self, node: n.Define) -> Run:
        return self.assign(node.target, self.expr(node.value))

    def s_SetFact(self, node: n.SetFact) -> Run:
        return self.assign(node.target, self.expr(node.value))

    def assign(self, target: n.Expr, value: Eval) -> Run:
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
                    f"cannot set the {field} of {to_text(owner)[:40] or 'nothing'}: it is not a record",
                    column=target.column,
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
        value, current = self.expr(node.value), self.expr(node.target)
        op, rt = node.op, self.rt
        box: list[Any] = []
        store = self.assign(node.target, lambda frame: box[0])
        name = node.target.name if isinstance(node.target, n.FactRef) else None
        sign = 1 if op == "add" else -1

        def change(frame: Frame) -> None:
            amount, old = value(frame), current(frame)
            if name is not None and (x := exact(old)) is not None and (y := exact(amount)) is not None:
                frame.facts[name] = bounded(x + y if sign == 1 else x - y)  # the loop's common case
                return
            if isinstance(old, list):
                if op == "add":
                    old.append(amount)
                    if len(old) > rt.limits.max_list_items:
                        raise LimitExceeded(f"a list passed the limit of {rt.limits.max_list_items} items")
                elif op == "remove":
                    old[:] = [item for item in old if not equals(item, amount)]
                else:
                    raise ProcessRuntimeError("cannot subtract from a list; use remove")
                return
            if op == "remove":
                raise ProcessRuntimeError(f"can only remove from a list, not from {to_text(old)[:40]}")
            try:
                box[:] = [arithmetic("+" if op == "add" else "-", old, amount)]
            except ProcessRuntimeError as err:
                raise at(err, node) from None
            store(frame)

        return change

    def s_Convert(self, node: n.Convert) -> Run:
        current = self.expr(node.target)
        rt = self.rt
        box: list[Any] = []
        store = self.assign(node.target, lambda frame: box[0])

        def converted(frame: Frame) -> None:
            old = current(frame)
            try:
                new = convert(old, node.to)
            except ProcessRuntimeError as err:
                rt.frame = frame
                new = rt.exception("conversion", err.message, node, facts=names_in(node.target))
            box[:] = [new]
            store(frame)
            frame.above = new

        return converted

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
            facts = frame.facts
            for item in list(items_of(source(frame))):
                rt.iterations += 1
                if rt.iterations > ceiling:
                    rt.limit(f"the run passed its limit of {ceiling} loop iterations", node)
                facts[name] = item
                body(frame)

        return for_each

    def s_Get(self, node: n.Get) -> Run:
        value = self.expr(node.value, mode="find" if node.may_be_missing else "get")
        name = node.name.name if node.name is not None else None

        def get(frame: Frame) -> None:
            frame.above = found = value(frame)
            if name is not None:
                frame.facts[name] = found

        return get

    def s_Ask(self, node: n.Ask) -> Run:
        question = self.expr(node.question)
        choices = self.expr(n.ListExpr(node.line, node.column, node.choices))
        rt = self.rt

        def ask(frame: Frame) -> None:
            text = to_text(question(frame))
            options = [to_text(choice) for choice in choices(frame)]
            rt.frame = frame
            try:
                answer = rt.exception("ask", text, node, choices=options)
            except SkipStep:
                frame.above = NOT_FOUND
                return
            for option in options:
                if equals(option, answer):
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
                facts.extend(name for name in names_in(check.condition) if name not in facts)
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
                raise ProcessRuntimeError(f"no procedure {node.procedure}", column=node.column)

            def call_book(frame: Frame) -> Value:
                values = [arg(frame) for arg in args]
                rt.frame = frame
                return rt.call_book(book, values, where(frame), node)

            return call_book
        return self.call_procedure(procedure, args, where)

    def call_procedure(
        self, procedure: n.Procedure, args: list[Eval], where: Callable[[Frame], dict[str, Value]]
    ) -> Eval:
        params, kind = procedure.phrase.params, procedure.kind
        max_depth = self.rt.limits.max_depth
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
            result = next((facts[name] for name in RESULT_NAMES if name in facts), MISSING)
            if kind == "if":
                return True if result is MISSING else truthy(result)
            return NOT_FOUND if result is MISSING else result

        return call_procedure
