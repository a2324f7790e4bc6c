"""Compiling the statements that start child runs and read their results: ``run to …``,
``invoke …``, ``start a run``, ``wait for the runs`` and ``retrieve data from the runs``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from plainrun.language import nodes as n
from plainrun.language.errors import LimitExceeded, MissingFact, ProcessRuntimeError
from plainrun.language.evaluator import ExprCompiler
from plainrun.language.names import normalise
from plainrun.language.runtime import MISSING, Frame
from plainrun.language.values import NOT_FOUND, Value, get_field, to_text

Run = Callable[[Frame], None]


class ChildRunCompiler(ExprCompiler):
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

    def waited(self, frame: Frame, node: n.Node) -> list[Value]:
        """The outputs of the runs started with ``start a run``, once they have all ended."""
        outputs = self.rt.wait_children(frame.runs, node)
        if not isinstance(outputs, list):
            outputs = [outputs]  # a value given by guidance in place of the children's outputs
        frame.runs = []
        frame.facts["runs"] = outputs
        return outputs

    def s_WaitRuns(self, node: n.WaitRuns) -> Run:
        def wait_runs(frame: Frame) -> None:
            frame.above = self.waited(frame, node)

        return wait_runs

    def s_Retrieve(self, node: n.Retrieve) -> Run:
        names = self.expr(n.ListExpr(node.line, node.column, node.names))
        lookup = self.rt.lookup

        def retrieve(frame: Frame) -> None:
            if frame.runs:
                runs = self.waited(frame, node)
            elif (runs := lookup(frame, "runs")) is MISSING:
                raise ProcessRuntimeError(
                    'there are no runs to retrieve data from: start them with "start a run" first'
                )
            wanted = [to_text(name) for name in names(frame)]
            frame.above = [_row(run, wanted, number) for number, run in enumerate(runs, start=1)]

        return retrieve


def _row(run: Value, wanted: list[str], number: int) -> dict[str, Value]:
    """The facts named ``wanted`` of one child run's outputs (all of them when none is named)."""
    if not isinstance(run, dict):
        raise ProcessRuntimeError(f"the run {number} has no facts to retrieve (it gave {to_text(run)[:40]})")
    if not wanted:
        return dict(run)
    row: dict[str, Value] = {}
    for name in wanted:
        value = get_field(run, normalise(name).removeprefix("output ").strip())
        if value is NOT_FOUND:
            known = ", ".join(run) or "none"
            raise MissingFact(f'the run {number} has no fact "{name}" (it has: {known})', facts=[name])
        row[name] = value
    return row
