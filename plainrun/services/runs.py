"""Runs: start, read, list, cancel, archive. Execution itself belongs to the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plainrun import ids
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.domain.tokens import Signer
from plainrun.errors import InvalidInput, InvalidToken, NotFound
from plainrun.services.access import Principal
from plainrun.services.processes import ProcessService
from plainrun.store.records import NewRun, Run, RunEvent
from plainrun.store.sql import SqlStore, utcnow

MAX_INPUTS = 100
MAX_FILES = 100
MAX_INPUT_TEXT = 100_000

InputValue = str | int | float


@dataclass(frozen=True, slots=True)
class RunPage:
    items: list[Run]
    continuation_token: str | None


def normalize_inputs(inputs: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The spec's ``[{"name", "value"}]`` list, or an object of name -> value, as the list form."""
    if inputs is None:
        return []
    pairs = list(inputs.items()) if isinstance(inputs, Mapping) else [(i["name"], i["value"]) for i in inputs]
    if len(pairs) > MAX_INPUTS:
        raise InvalidInput(f"A run takes at most {MAX_INPUTS} inputs.")
    seen: set[str] = set()
    out = []
    for name, value in pairs:
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise InvalidInput(
                "An input name must be text of 1 to 100 characters.", details=[("name", str(name))]
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidInput("An input value must be text or a number.", details=[("name", name)])
        if isinstance(value, str) and len(value) > MAX_INPUT_TEXT:
            raise InvalidInput(
                f"An input value is longer than {MAX_INPUT_TEXT} characters.", details=[("name", name)]
            )
        key = " ".join(name.replace("_", " ").lower().split())
        if key in seen:
            raise InvalidInput("Each input may be given once.", details=[("name", name)])
        seen.add(key)
        out.append({"name": name, "value": value})
    return out


class RunService:
    def __init__(
        self,
        store: SqlStore,
        processes: ProcessService,
        *,
        secret: bytes,
        timeout_s: float,
        max_attempts: int,
    ):
        self.store = store
        self.processes = processes
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self._pages = Signer(secret, "runs-page")

    def start(
        self,
        principal: Principal,
        *,
        agent_id: str,
        process_id: str,
        stage: Stage,
        name: str,
        inputs: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        file_ids: Sequence[str] | None = None,
        trigger: Trigger = Trigger.API,
        trigger_ref: str | None = None,
        rerun_of: str | None = None,
        parent_run_id: str | None = None,
        on_exception: str | None = None,
    ) -> Run:
        """Start a run. ``on_exception="fail"`` makes this run fail fast instead of waiting for
        guidance, whatever its process says (the editor's test runs of a draft do this)."""
        new = self.prepare(
            principal,
            agent_id=agent_id,
            process_id=process_id,
            stage=stage,
            name=name,
            inputs=inputs,
            file_ids=file_ids,
            trigger=trigger,
            trigger_ref=trigger_ref,
            rerun_of=rerun_of,
            parent_run_id=parent_run_id,
            on_exception=on_exception,
        )
        return self.store.create_runs([new])[0]

    def prepare(
        self,
        principal: Principal,
        *,
        agent_id: str,
        process_id: str,
        stage: Stage,
        name: str,
        inputs: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        file_ids: Sequence[str] | None = None,
        trigger: Trigger = Trigger.API,
        trigger_ref: str | None = None,
        rerun_of: str | None = None,
        parent_run_id: str | None = None,
        on_exception: str | None = None,
    ) -> NewRun:
        """The run :meth:`start` would insert, checked (process, version, files) but not written:
        for callers that write several callers' runs together (the API's fast path)."""
        if on_exception not in (None, "pause", "fail"):
            raise InvalidInput('on_exception is "pause" or "fail".')
        process, version, sha256 = self.processes.for_run(principal, process_id, agent_id, stage)
        file_ids = self._check_files(agent_id, file_ids or [])
        timeout = process.settings.get("timeout_s") or self.timeout_s
        return NewRun(
            id=ids.new_id(),
            agent_id=agent_id,
            process_id=process_id,
            name=name,
            stage=stage,
            version=version,
            sha256=sha256,
            inputs=normalize_inputs(inputs),
            file_ids=file_ids,
            trigger=trigger,
            trigger_ref=trigger_ref,
            rerun_of=rerun_of,
            parent_run_id=parent_run_id,
            exec_state={"options": {"on_exception": on_exception}} if on_exception else None,
            max_attempts=self.max_attempts,
            timeout_s=float(timeout),
            created_at=utcnow(),
        )

    def _check_files(self, agent_id: str, file_ids: Sequence[str]) -> list[str]:
        if len(file_ids) > MAX_FILES:
            raise InvalidInput(f"A run takes at most {MAX_FILES} files.")
        unique = list(dict.fromkeys(file_ids))
        found = self.store.get_files([f for f in unique if ids.is_id(f)])
        missing = [f for f in unique if f not in found or found[f].agent_id != agent_id or not found[f].ready]
        if missing:
            raise NotFound("A file was not found.", details=[("file_id", f) for f in missing])
        return unique

    def get(self, principal: Principal, run_id: str) -> Run:
        run = self.store.get_run(run_id) if ids.is_id(run_id) else None
        if run is None or not principal.can_see(run.agent_id):
            raise NotFound("The run was not found.")
        return run

    def events(self, principal: Principal, run_id: str) -> list[RunEvent]:
        self.get(principal, run_id)
        return self.store.list_run_events(run_id)

    def list(
        self,
        principal: Principal,
        *,
        agent_id: str,
        process_id: str,
        stage: Stage | None = None,
        archived: bool = False,
        states: Sequence[RunState] = (),
        limit: int = 10,
        continuation_token: str | None = None,
    ) -> RunPage:
        """Newest first, keyset-paged. The token carries the query, so it cannot be moved to another."""
        query = {
            "p": process_id,
            "a": agent_id,
            "s": stage.value if stage else None,
            "ar": archived,
            "st": sorted(s.value for s in states),
        }
        before_id = None
        if continuation_token is not None:
            position = self._pages.unsign(continuation_token, message="The continuation token is not valid.")
            before_id = position.pop("k", None)
            if not isinstance(before_id, str) or position != query:
                raise InvalidToken("The continuation token belongs to another query.")
        self.processes.get(principal, process_id, agent_id)
        rows = self.store.list_runs(
            process_id, stage=stage, archived=archived, states=states, before_id=before_id, limit=limit + 1
        )
        token = self._pages.sign({**query, "k": rows[limit - 1].id}) if len(rows) > limit else None
        return RunPage(items=rows[:limit], continuation_token=token)

    def children(self, principal: Principal, run_id: str) -> list[Run]:
        """The child runs ``run_id`` started (at most 50), oldest first."""
        from plainrun.store import children

        self.get(principal, run_id)
        return children.children(self.store, run_id)

    def cancel(self, principal: Principal, run_id: str) -> Run:
        self.get(principal, run_id)
        return self.store.cancel_run(run_id)

    def set_archived(self, principal: Principal, run_ids: Sequence[str], archived: bool) -> dict[str, str]:
        """Archive or unarchive; per id: ``archived``, ``unarchived``, ``unchanged`` or ``not_found``."""
        visible = {
            rid: run
            for rid, run in self.store.get_runs([r for r in run_ids if ids.is_id(r)]).items()
            if principal.can_see(run.agent_id)
        }
        changed = set(self.store.set_archived(list(visible), archived))
        word = "archived" if archived else "unarchived"
        return {
            rid: (word if rid in changed else "unchanged") if rid in visible else "not_found"
            for rid in run_ids
        }
