"""The state of one execution pass: facts in frames, the journal it replays, and exception points.

Every effect of the outside world goes through ``Runtime.effect`` (book calls, clock readings,
child runs) and every exception through ``Runtime.exception``. Both consume the journal in order
when it has an entry, so re-executing a paused run from its first line with the same journal
reaches exactly the same state; past the journal's end they act live and append to it.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Callable, Iterable
from typing import Any

from plainrun.language import nodes as n
from plainrun.language.books import BookProcedure, Library
from plainrun.language.environment import Environment
from plainrun.language.errors import BookError, LanguageError, LimitExceeded, ProcessRuntimeError, StateError
from plainrun.language.grammar import RESULT_NAMES
from plainrun.language.limits import Limits, resident_mb
from plainrun.language.names import variants
from plainrun.language.outcome import Failed, Paused
from plainrun.language.program import Program
from plainrun.language.values import NOT_FOUND, Value, from_json, to_json, to_plain

logger = logging.getLogger(__name__)

MISSING: Any = object()
MEMORY_CHECK_EVERY = 8192


class Signal(BaseException):
    """Control flow through the interpreter; never seen outside it."""


class SkipStep(Signal):
    pass


class RetryStep(Signal):
    pass


class StopRun(Signal):
    """``stop``: end the run successfully."""


class EndRun(Signal):
    def __init__(self, outcome: Paused | Failed):
        super().__init__()
        self.outcome = outcome


class PredicateFalse(Signal):
    pass


class Frame:
    """The facts of one procedure call."""

    __slots__ = ("above", "depth", "facts", "globals", "last_result", "runs")

    def __init__(self, facts: dict[str, Value], globals_: dict[str, Value] | None, depth: int):
        self.facts = facts
        self.globals = globals_ if globals_ is not None else facts
        self.above: Value = NOT_FOUND
        self.last_result: Value = MISSING
        self.depth = depth
        self.runs: list[str] = []


class Runtime:
    def __init__(
        self,
        program: Program,
        library: Library,
        env: Environment,
        journal: list[dict[str, Any]],
        log: list[str],
        limits: Limits,
        on_exception: str,
    ):
        self.program = program
        self.library = library
        self.env = env
        self.journal = journal
        self.cursor = 0
        self.log = log
        self.logged = 0
        self.limits = limits
        self.on_exception = on_exception
        self.steps = 0
        self.iterations = 0
        self.next_memory_check = MEMORY_CHECK_EVERY
        self.next_check = min(MEMORY_CHECK_EVERY, limits.max_steps + 1)  # steps at which to look again
        self.frame: Frame | None = None  # the innermost frame, for reporting facts at a pause

    # --- journal -------------------------------------------------------------------------------
    def _replayed(self, kind: str) -> dict[str, Any] | None:
        if self.cursor >= len(self.journal):
            return None
        entry = self.journal[self.cursor]
        if entry.get("kind") != kind:
            raise StateError(
                f"the saved run does not match this process (expected {kind}, "
                f"found {entry.get('kind')} at step "
                f"{self.cursor}); the process changed since the run paused"
            )
        self.cursor += 1
        return entry

    def effect(self, kind: str, action: Callable[[], Value], node: n.Node, question: str) -> Value:
        """The value of an outside effect, run once and then replayed from the journal.

        Live, the action's own value is used (the journal keeps a copy in JSON, which a replay
        reads back as an equal value). An effect that passed one of the run's limits (``LimitExceeded``
        from the environment: the bytes of files a run may write) fails the run; any other error
        asks for guidance.
        """
        entry = self._replayed(kind)
        if entry is not None:
            if "ok" in entry:
                return from_json(entry["ok"])
            return self._effect_failed(entry, node, question)
        collecting = gc.isenabled()
        gc.disable()  # a book's result is many small containers (a table's rows): collecting cycles
        try:  # while they are built and journaled only walks them again and again
            value = action()
            data = to_json(value)
        except ProcessRuntimeError as err:
            entry = {"kind": kind, "error": err.message}
            if isinstance(err, LimitExceeded):
                entry["limit"] = True
        else:
            entry = {"kind": kind, "ok": data}
        finally:
            if collecting:
                gc.enable()
        self.journal.append(entry)
        self.cursor += 1
        if "ok" in entry:
            return value
        return self._effect_failed(entry, node, question)

    def _effect_failed(self, entry: dict[str, Any], node: n.Node, question: str) -> Value:
        kind = "limit" if entry.get("limit") else "book"
        return self.exception(kind, f"{question}: {entry['error']}", node)

    def exception(
        self,
        kind: str,
        question: str,
        node: n.Node,
        *,
        facts: Iterable[str] = (),
        choices: Iterable[str] = (),
        column: int | None = None,
    ) -> Value:
        """Asks for guidance; returns a given value, or raises SkipStep/RetryStep/EndRun."""
        entry = self._replayed("guidance")
        if entry is None:
            column = column or node.column
            if self.on_exception == "fail" or kind == "limit":
                raise EndRun(Failed(question, node.line, column, kind, list(self.log)))
            raise EndRun(
                Paused(
                    question,
                    node.line,
                    column,
                    kind,
                    list(choices),
                    list(facts),
                    self.known_facts(),
                    list(self.log),
                )
            )
        guidance = entry["guidance"]
        if guidance == "value":
            return from_json(entry.get("value"))
        if guidance == "skip":
            raise SkipStep
        if guidance == "retry":
            raise RetryStep
        raise EndRun(
            Failed(f"stopped by guidance: {question}", node.line, node.column, "stopped", list(self.log))
        )

    def known_facts(self) -> dict[str, Any]:
        if self.frame is None:
            return {}
        facts = dict(self.frame.globals)
        facts.update(self.frame.facts)
        return {name: to_plain(value) for name, value in facts.items()}

    # --- facts ---------------------------------------------------------------------------------
    @staticmethod
    def lookup(frame: Frame, name: str) -> Value:
        """The fact ``name`` (or its singular or plural) as the frame sees it; MISSING if none."""
        for facts in (frame.facts, frame.globals):
            if name in facts:
                return facts[name]
        if name in RESULT_NAMES and frame.last_result is not MISSING:
            return frame.last_result
        for other in variants(name):
            for facts in (frame.facts, frame.globals):
                if other in facts:
                    return facts[other]
        return MISSING

    def missing(self, frame: Frame, node: n.FactRef, lenient: bool) -> Value:
        """A fact the frame does not hold under its exact name: another spelling, or Not Found
        (``lenient``), or the answer of a person asked for it."""
        value = self.lookup(frame, node.name)
        if value is not MISSING:
            return value
        if lenient:
            return NOT_FOUND
        value = self.exception("missing", f"What is the {node.display}?", node, facts=[node.display])
        frame.facts[node.name] = value
        return value

    # --- limits and bookkeeping ----------------------------------------------------------------
    def check_steps(self, node: n.Node) -> None:
        """Called when ``steps`` reaches ``next_check``: the step limit, and now and then memory."""
        if self.steps > self.limits.max_steps:
            self.limit(f"the run passed its limit of {self.limits.max_steps} steps", node)
        if self.steps >= self.next_memory_check:
            self.next_memory_check += MEMORY_CHECK_EVERY
            ceiling = self.limits.max_memory_mb
            if ceiling is not None and (used := resident_mb()) is not None and used > ceiling:
                self.limit(f"the run uses {used:.0f} MB of memory, over its limit of {ceiling} MB", node)
        self.next_check = min(self.next_memory_check, self.limits.max_steps + 1)

    def limit(self, message: str, node: n.Node) -> None:
        raise EndRun(Failed(message, node.line, node.column, "limit", list(self.log)))

    def check_value(self, value: Value, node: n.Node) -> Value:
        if isinstance(value, str) and len(value) > self.limits.max_text_chars:
            raise LimitExceeded(
                f"a text of {len(value)} characters is over the limit of {self.limits.max_text_chars}"
            )
        if isinstance(value, list) and len(value) > self.limits.max_list_items:
            raise LimitExceeded(
                f"a list of {len(value)} items is over the limit of {self.limits.max_list_items}"
            )
        return value

    def say(self, text: str) -> None:
        self.logged += 1
        if self.logged <= len(self.log):
            return  # already written before the run paused
        self.log.append(text)
        self.env.log(text)

    # --- the outside world ---------------------------------------------------------------------
    def clock(self, kind: str, node: n.Node) -> Value:
        value = self.effect("clock", lambda: self.env.now(), node, "reading the clock")
        if isinstance(value, dt.datetime) and kind == "today":
            return value.date()
        return value

    def call_book(
        self, book: BookProcedure, args: list[Value], where: dict[str, Value], node: n.Node
    ) -> Value:
        name = book.text.removeprefix("to ")
        return self.effect("book", lambda: book.call(args, where, self.env), node, name)

    def start_child(self, process: str, inputs: dict[str, Value], node: n.Node) -> str:
        plain = {name: value for name, value in inputs.items()}

        def start() -> str:
            try:
                return self.env.start_child(process, plain)
            except LanguageError:
                raise
            except Exception as err:
                logger.warning("starting the child run %r failed", process, exc_info=err)
                raise BookError("the child run could not be started") from err

        return str(self.effect("child", start, node, f'starting "{process}"'))

    def wait_children(self, ids: list[str], node: n.Node) -> Value:
        """Each child's outputs as a record, in a list; or, after guidance, the value given instead."""

        def wait() -> list[dict[str, Value]]:
            try:
                results = self.env.wait_children(list(ids))
            except LanguageError:
                raise
            except Exception as err:
                logger.warning("waiting for child runs %s failed", ids, exc_info=err)
                raise BookError("the child runs' results could not be read") from err
            return [{item["name"]: item["value"] for item in outputs} for outputs in results]

        return self.effect("wait", wait, node, "waiting for the child runs")
