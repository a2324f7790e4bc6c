"""Guidance: a person's answer to a run waiting on a question, and the learnings that answer by themselves.

An answer is journaled here, in the caller's process, with no environment call: the saved execution
is rebuilt from ``runs.exec_state``, told the answer, and stored back with the run made pending.
A worker then resumes it by replaying the journal, so no completed book call is repeated, and it
does not matter which process of the service answered or whether any restarted in between.

``stop`` does not need the interpreter: the run fails at once, saying that guidance stopped it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from plainrun.domain import ids
from plainrun.domain.guidance import ACTIONS, Learning, Question
from plainrun.domain.runs import Run, RunState
from plainrun.errors import Conflict, InvalidInput, NotFound
from plainrun.language import Execution, Guidance, Paused, Program, StateError, parse
from plainrun.services.access import Principal
from plainrun.services.processes import ProcessService
from plainrun.store import Store

MAX_VALUE_TEXT = 100_000


class GuidanceService:
    def __init__(self, store: Store, processes: ProcessService):
        self.store = store
        self.processes = processes
        self._programs: OrderedDict[str, Program] = OrderedDict()
        self._lines: OrderedDict[str, list[str]] = OrderedDict()

    # --- answering -----------------------------------------------------------------------------

    def answer(
        self,
        principal: Principal,
        run_id: str,
        *,
        action: str,
        value: Any = None,
        remember: bool = False,
        by_name: str | None = None,
    ) -> Run:
        """Answer the question a run waits on; the run resumes (or, for ``stop``, fails).

        404 outside the caller's scope, 409 unless the run waits for guidance, 400 for an answer
        that does not fit (an unknown action, a missing value, a value that is not a choice).
        """
        run = self._run(principal, run_id)
        value = _check(action, value)
        if remember and action == "retry":
            raise InvalidInput("A retry cannot be remembered: the run would retry the step forever.")
        execution, pending = self._waiting(run)
        value = _fit(pending, action, value)
        who = {"by": principal.key_id, "by_name": by_name, "remember": remember}
        if not self._apply(run, execution, pending, action, value, who):
            raise Conflict("The run is no longer waiting for guidance: it was answered or changed meanwhile.")
        if remember:
            self.store.guidance.remember(
                agent_id=run.agent_id,
                process_id=run.process_id,
                line=pending.line,
                question=pending.question,
                action=action,
                value=value,
                created_by=by_name,
            )
        return self._run(principal, run_id)

    def auto_answer(self, run_id: str, *, attempt: int | None = None) -> bool:
        """Answer a run that just paused from a learning, if one matches; True when it answered.

        The worker calls this after it recorded a pause. A run that is not waiting any more (or
        waits in another attempt than ``attempt``) is left alone, so calling twice is harmless.
        """
        run = self.store.runs.get(run_id)
        if run is None or run.state is not RunState.AWAITING_GUIDANCE or not run.error:
            return False
        if attempt is not None and run.attempt != attempt:
            return False
        line, question = run.error.get("line"), run.error.get("question")
        if not isinstance(line, int) or not isinstance(question, str):
            return False
        learning = self.store.guidance.find(run.process_id, line, question)
        if learning is None:
            return False
        try:
            execution, pending = self._waiting(run)
            value = _fit(pending, learning.action, learning.value)
        except (Conflict, InvalidInput):
            return False  # the question changed shape since it was learned: a person answers
        who = {"by": "learning", "learning_id": learning.id, "by_name": learning.created_by}
        return self._apply(run, execution, pending, learning.action, value, who, learning.id)

    def _run(self, principal: Principal, run_id: str) -> Run:
        run = self.store.runs.get(run_id) if ids.is_id(run_id) else None
        if run is None or not principal.can_see(run.agent_id):
            raise NotFound("The run was not found.")
        return run

    def _waiting(self, run: Run) -> tuple[Execution, Paused]:
        if run.state is not RunState.AWAITING_GUIDANCE:
            raise Conflict(
                f"The run is not waiting for guidance (it is {run.state.value}).",
                details=[("state", run.state.value)],
            )
        if not run.exec_state:
            raise Conflict("The run is waiting but has no saved execution to resume.")
        try:
            execution = Execution.from_json(self._program(run.sha256), run.exec_state, None)  # type: ignore[arg-type]
        except StateError as exc:
            raise Conflict(f"The run cannot be resumed: {exc}") from exc
        pending = execution.pending
        if pending is None:
            raise Conflict("The run is not waiting for guidance.")
        return execution, pending

    def _apply(
        self,
        run: Run,
        execution: Execution,
        pending: Paused,
        action: str,
        value: Any,
        who: dict[str, Any],
        learning_id: str | None = None,
    ) -> bool:
        data: dict[str, Any] = {
            **who,
            "action": action,
            "question": pending.question,
            "line": pending.line,
        }
        if action == "value":
            data["value"] = value
        if action == "stop":
            error = {
                "kind": "stopped",
                "message": f"The run was stopped by guidance: {pending.question}",
                "question": pending.question,
                "line": pending.line,
                "column": pending.column,
            }
            return self.store.guidance.stop(run.id, attempt=run.attempt, error=error, event_data=data)
        execution.answer(Guidance(kind=action, value=value))
        return self.store.guidance.resume(
            run.id,
            attempt=run.attempt,
            exec_state=execution.to_json(),
            event_data=data,
            learning_id=learning_id,
        )

    def _program(self, sha256: str) -> Program:
        program = self._programs.get(sha256)
        if program is None:
            program = self._programs[sha256] = parse(self.store.processes.source(sha256))
            if len(self._programs) > 128:
                self._programs.popitem(last=False)
        else:
            self._programs.move_to_end(sha256)
        return program

    # --- the Guidance Center -------------------------------------------------------------------

    def waiting(
        self,
        principal: Principal,
        *,
        process_ids: Sequence[str] | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[Question]:
        """Runs waiting for a person that the caller sees (its agent's, or every agent's for an
        installation key), those that waited longest first; only of ``process_ids`` when given."""
        return self.store.guidance.waiting(
            principal.agent_id, process_ids=process_ids, after_id=after_id, limit=limit
        )

    def count_waiting(self, principal: Principal, *, process_ids: Sequence[str] | None = None) -> int:
        return self.store.guidance.count_waiting(principal.agent_id, process_ids=process_ids)

    def source_lines(self, questions: Sequence[Question]) -> dict[str, str]:
        """The source line each question was asked on, by run id."""
        out: dict[str, str] = {}
        for q in questions:
            if q.line:
                lines = self._program_lines(q.sha256)
                if 0 < q.line <= len(lines):
                    out[q.run_id] = lines[q.line - 1]
        return out

    def _program_lines(self, sha256: str) -> list[str]:
        lines = self._lines.get(sha256)
        if lines is None:
            lines = self._lines[sha256] = self.store.processes.source(sha256).splitlines()
            if len(self._lines) > 128:
                self._lines.popitem(last=False)
        return lines

    # --- learnings -----------------------------------------------------------------------------

    def learnings(
        self, principal: Principal, *, process_id: str, agent_id: str | None = None
    ) -> list[Learning]:
        process = self.processes.get(principal, process_id, agent_id)
        return self.store.guidance.of_process(process.id)

    def learning(self, principal: Principal, learning_id: str) -> Learning:
        learning = self.store.guidance.get(learning_id) if ids.is_id(learning_id) else None
        if learning is None or not principal.can_see(learning.agent_id):
            raise NotFound("The learning was not found.")
        return learning

    def forget(self, principal: Principal, learning_id: str) -> Learning:
        learning = self.store.guidance.get(learning_id) if ids.is_id(learning_id) else None
        if learning is None or not principal.can_see(learning.agent_id):
            raise NotFound("The learning was not found.")
        if not self.store.guidance.forget(learning_id):
            raise NotFound("The learning was not found.")
        return learning


def _check(action: str, value: Any) -> Any:
    if action not in ACTIONS:
        raise InvalidInput(
            f"The action is one of {', '.join(ACTIONS)}.", details=[("action", str(action)[:100])]
        )
    if action != "value":
        if value is not None:
            raise InvalidInput(f"Only the action value takes a value, not {action}.")
        return None
    if value is None:
        raise InvalidInput("The action value needs a value.", details=[("value", "missing")])
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput("A value must be text or a number.")
    if isinstance(value, str) and len(value) > MAX_VALUE_TEXT:
        raise InvalidInput(f"A value is longer than {MAX_VALUE_TEXT} characters.")
    return value


def _fit(pending: Paused, action: str, value: Any) -> Any:
    """A value for a question with choices must be one of them (case and spaces aside); it becomes it."""
    if action != "value" or not pending.choices:
        return value
    wanted = " ".join(str(value).split()).casefold()
    for choice in pending.choices:
        if " ".join(choice.split()).casefold() == wanted:
            return choice
    raise InvalidInput(
        f"The answer must be one of the choices: {', '.join(pending.choices)}.",
        details=[("value", str(value)[:100]), *(("choice", c) for c in pending.choices)],
    )
