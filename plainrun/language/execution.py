"""Running a program, pausing it on an exception, and resuming it later, anywhere.

Pause and resume work by deterministic replay. An execution's whole state is plain JSON:

* the inputs, files and e-mail it started with, its limits and ``on_exception`` choice;
* a **journal**: in order, the result of every effect that completed (book call, clock reading,
  child run started or waited for) and every guidance given to an exception;
* the lines already written to the log, and the pending pause, if any.

``run()`` executes the process from its first line. Each effect and each exception takes the next
journal entry when there is one, instead of acting, so the run reaches the same state it had,
and continues live from there. A book call that completed is therefore never repeated, after any
number of pauses and restarts, and the facts at a pause are rebuilt exactly. The cost is
re-executing the statements before the pause, which do no I/O.

Guidance: ``value`` gives the value the failed step should have produced (the missing fact, the
answer of an ``ask``, the result of a failed book call or conversion); ``retry`` runs the step
again; ``skip`` goes on after it; ``stop`` ends the run as failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from plainrun.language.books import Library, default_library
from plainrun.language.compiler import Compiler
from plainrun.language.environment import Environment
from plainrun.language.errors import ProcessRuntimeError, StateError
from plainrun.language.limits import Limits
from plainrun.language.names import normalise
from plainrun.language.outcome import (
    Failed,
    Guidance,
    Outcome,
    Paused,
    Succeeded,
    WaitForRuns,
    Waiting,
    outcome_from_json,
)
from plainrun.language.program import Program
from plainrun.language.runtime import EndRun, Frame, Runtime, StopRun
from plainrun.language.values import FileRef, Value, from_json, from_outside, output_value, to_json

STATE_VERSION = 1
_RECURSION_FLOOR = 20_000


def email_fact(
    subject: str,
    sender: str,
    body: str,
    attachments: Iterable[FileRef] = (),
    *,
    to: str = "",
    message_id: str = "",
) -> dict[str, Value]:
    """The record that ``the email`` holds in a run started by an e-mail."""
    return {
        "subject": subject,
        "sender": sender,
        "to": to,
        "body": body,
        "attachments": list(attachments),
        "message id": message_id,
    }


class Execution:
    """One run of a program. Create it with ``start`` or ``from_json``; call ``run``."""

    def __init__(
        self, program: Program, env: Environment, state: dict[str, Any], library: Library | None = None
    ):
        self.program = program
        self.env = env
        self.library = library if library is not None else default_library()
        self.state = state
        self.limits = Limits.from_json(state.get("limits", {}))

    @classmethod
    def start(
        cls,
        program: Program,
        inputs: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        files: Iterable[FileRef],
        env: Environment,
        *,
        on_exception: str = "pause",
        limits: Limits | None = None,
        email: Mapping[str, Value] | None = None,
        entry: str | None = None,
        library: Library | None = None,
    ) -> Execution:
        """A new execution. ``inputs`` is ``{name: value}`` or the API's ``[{"name", "value"}]``."""
        if on_exception not in ("pause", "fail"):
            raise ValueError('on_exception is "pause" or "fail"')
        if not isinstance(inputs, Mapping):
            inputs = {item["name"]: item["value"] for item in inputs}
        state = {
            "version": STATE_VERSION,
            "entry": entry,
            "inputs": {str(name): to_json(from_outside(value)) for name, value in inputs.items()},
            "files": [to_json(f) for f in files],
            "email": to_json(dict(email)) if email is not None else None,
            "on_exception": on_exception,
            "limits": (limits or Limits()).to_json(),
            "journal": [],
            "log": [],
            "pending": None,
            "outcome": None,
        }
        return cls(program, env, state, library)

    @classmethod
    def from_json(
        cls, program: Program, state: Mapping[str, Any], env: Environment, *, library: Library | None = None
    ) -> Execution:
        if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
            raise StateError("this saved state was written by another version of the interpreter")
        return cls(program, env, _copy(state), library)

    def to_json(self) -> dict[str, Any]:
        """Everything needed to resume, as JSON-serialisable data."""
        return _copy(self.state)

    @property
    def pending(self) -> Paused | None:
        data = self.state["pending"]
        outcome = outcome_from_json(data) if data else None
        return outcome if isinstance(outcome, Paused) else None

    @property
    def log(self) -> list[str]:
        return list(self.state["log"])

    def answer(self, guidance: Guidance) -> None:
        """Records the answer to the pending pause; ``run()`` then goes on from there."""
        if self.state["pending"] is None:
            raise StateError("the run is not waiting for guidance")
        entry: dict[str, Any] = {"kind": "guidance", "guidance": guidance.kind}
        if guidance.kind == "value":
            entry["value"] = to_json(from_outside(guidance.value))
        self.state["journal"].append(entry)
        self.state["pending"] = None

    def run(self) -> Outcome | Waiting:
        """Runs (or resumes) to the end, the next pause, or a wait for child runs.

        After :class:`Waiting` the state is left as it is: call ``run()`` again (here or on a copy
        made with ``to_json``/``from_json``) once the child runs ended.
        """
        if self.state["pending"] is not None:
            return outcome_from_json(self.state["pending"])
        if self.state["outcome"] is not None:
            return outcome_from_json(self.state["outcome"])
        outcome = self._run()
        if isinstance(outcome, Waiting):
            return outcome
        if isinstance(outcome, Paused):
            self.state["pending"] = outcome.to_json()
        else:
            self.state["outcome"] = outcome.to_json()
        return outcome

    def _run(self) -> Outcome | Waiting:
        program = self.program
        rt = Runtime(
            program,
            self.library,
            self.env,
            self.state["journal"],
            self.state["log"],
            self.limits,
            self.state["on_exception"],
        )
        procedure = program.procedure(self.state["entry"]) if self.state.get("entry") else program.process
        if procedure is None:
            return Failed(f"the process has no procedure {self.state['entry']}", 1, 1)
        facts = self._initial_facts()
        frame = Frame(facts, None, 0)
        rt.frame = frame
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, _RECURSION_FLOOR))
        try:
            body = Compiler(rt).procedure_body(procedure)
            body(frame)
        except ProcessRuntimeError as err:  # compiling: a book the process names is not installed
            return Failed(err.message, procedure.line, err.column or procedure.column, "error", list(rt.log))
        except StopRun:
            pass
        except EndRun as end:
            return end.outcome
        except WaitForRuns as wait:
            return Waiting(wait.run_ids, list(rt.log))
        except StateError as err:
            return Failed(err.message, procedure.line, procedure.column, "state", list(rt.log))
        except RecursionError:
            return Failed(
                "the process is nested or calls itself too deeply",
                procedure.line,
                procedure.column,
                "limit",
                list(rt.log),
            )
        finally:
            sys.setrecursionlimit(limit)
        return Succeeded(self._outputs(facts), list(rt.log))

    def _initial_facts(self) -> dict[str, Value]:
        facts: dict[str, Value] = {}
        for name, value in self.state["inputs"].items():
            facts[normalise(name)] = from_json(value)
        files = [from_json(f) for f in self.state["files"]]
        if files:
            facts["files"] = files
            if len(files) == 1:
                facts["file"] = files[0]
        if self.state.get("email") is not None:
            facts["email"] = from_json(self.state["email"])
        return facts

    @staticmethod
    def _outputs(facts: dict[str, Value]) -> list[dict[str, Any]]:
        outputs = []
        for name, value in facts.items():
            if name == "output" or name.startswith("output "):
                label = name.removeprefix("output").strip() or "output"
                outputs.append({"name": label, "value": output_value(value)})
        return outputs


def _copy(state: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(state))
    return copied
