"""Runs: start (every way of starting runs goes through ``prepare`` and the store's group commit),
read, page, cancel, archive. Execution itself belongs to the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from plainrun.domain import ids, storable
from plainrun.domain.bounds import fit_name
from plainrun.domain.clock import utcnow
from plainrun.domain.files import FileRecord
from plainrun.domain.idempotency import Key, KeyRecord, check_key, fingerprint
from plainrun.domain.pages import Page, Pager
from plainrun.domain.processes import Process, Runnable, run_timeout
from plainrun.domain.runs import NewRun, Run, RunEvent, RunQuery, RunState, Stage, Trigger
from plainrun.errors import InvalidInput, KeyReused, NotFound, PlainrunError, ProcessChanged
from plainrun.services.access import Principal
from plainrun.services.processes import ProcessService
from plainrun.store import Store

MAX_INPUTS = 100
MAX_NAME_FILTER = 100
MAX_FILES = 100
MAX_INPUT_TEXT = 100_000
#: How often a server forgets expired idempotency keys.
SWEEP_EVERY = timedelta(minutes=1)

InputValue = str | int | float
Inputs = Sequence[Mapping[str, Any]] | Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A run someone asks for: of which process and stage, with what, started how."""

    agent_id: str
    process_id: str
    stage: Stage
    name: str
    inputs: Inputs = None
    file_ids: Sequence[str] | None = None
    trigger: Trigger = Trigger.API
    trigger_ref: str | None = None
    rerun_of: str | None = None
    parent_run_id: str | None = None
    #: ``"fail"``: this run fails fast instead of waiting for guidance, whatever its process says
    #: (the editor's test runs of a draft do this).
    on_exception: str | None = None


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs of a process a list shows."""

    stage: Stage | None = None
    #: True: only archived runs; False: only runs not archived.
    archived: bool = False
    states: Sequence[RunState] = ()
    triggers: Sequence[Trigger] = ()
    #: A part of the run's name (any case).
    name: str | None = None
    #: Made at or after ``since``, before ``until``.
    since: datetime | None = None
    until: datetime | None = None
    #: False: the Test Suite's runs are left out.
    tests: bool = True

    def query(self) -> dict[str, Any]:
        """The filter as a page token's query (a token for another filter is refused)."""
        out: dict[str, Any] = {
            "s": self.stage.value if self.stage else None,
            "ar": self.archived,
            "st": sorted(s.value for s in self.states),
        }
        if self.triggers:
            out["tr"] = sorted(t.value for t in self.triggers)
        if self.name:
            out["n"] = self.name
        if self.since:
            out["f"] = self.since.isoformat()
        if self.until:
            out["u"] = self.until.isoformat()
        if not self.tests:
            out["nt"] = True
        return out

    def of(self, *, process_id: str | None, agent_id: str) -> RunQuery:
        """The store's query for these filters, over one process or over the whole agent."""
        if self.name is not None and len(self.name) > MAX_NAME_FILTER:
            raise InvalidInput(f"A name to search for has at most {MAX_NAME_FILTER} characters.")
        if self.since and self.until and self.until <= self.since:
            raise InvalidInput("The end of a date range must come after its start.")
        return RunQuery(
            process_id=process_id,
            agent_id=agent_id,
            stage=self.stage,
            archived=self.archived,
            states=tuple(self.states),
            triggers=tuple(self.triggers),
            name=self.name or None,
            since=self.since,
            until=self.until,
            tests=self.tests,
        )


def normalize_inputs(inputs: Inputs) -> list[dict[str, Any]]:
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
        why = storable.number_problem(value) if isinstance(value, int | float) else None
        if why is not None:
            raise InvalidInput(f"An input number cannot be kept exactly: {why}.", details=[("name", name)])
        if value == 0 and type(value) is float:
            value = 0.0  # -0.0 is 0.0 on every database (PostgreSQL's jsonb has no negative zero)
        if isinstance(value, str) and len(value) > MAX_INPUT_TEXT:
            raise InvalidInput(
                f"An input value is longer than {MAX_INPUT_TEXT} characters.", details=[("name", name)]
            )
        key = input_key(name)
        if key in seen:
            raise InvalidInput("Each input may be given once.", details=[("name", name)])
        seen.add(key)
        out.append({"name": name, "value": value})
    return out


def request_body(request: RunRequest) -> dict[str, Any]:
    """What a start asks for, as an idempotency fingerprint reads it."""
    return {
        "agent_id": request.agent_id,
        "process_id": request.process_id,
        "stage": request.stage.value,
        "name": request.name,
        "inputs": request.inputs if isinstance(request.inputs, Mapping) else list(request.inputs or []),
        "file_ids": list(request.file_ids or []),
        "trigger": request.trigger.value,
        "on_exception": request.on_exception,
    }


def input_key(name: str) -> str:
    """How input names compare: case, spaces and underscores aside."""
    return " ".join(name.replace("_", " ").lower().split())


class RunService:
    def __init__(
        self, store: Store, processes: ProcessService, *, secret: bytes, timeout_s: float, max_attempts: int
    ):
        self.store = store
        self.processes = processes
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self._pages = Pager(secret, "runs")
        self._swept_at: datetime | None = None

    # --- starting ----------------------------------------------------------------------------

    def prepare(self, principal: Principal, request: RunRequest) -> NewRun:
        """The run a request starts, checked (process, version, inputs, files) but not yet written."""
        if request.on_exception not in (None, "pause", "fail"):
            raise InvalidInput('on_exception is "pause" or "fail".')
        found = self.processes.for_run(principal, request.process_id, request.agent_id, request.stage)
        return self._new_run(request, *found)

    def prepare_seen(self, principal: Principal, request: RunRequest) -> NewRun | None:
        """:meth:`prepare` with no database call, from the process as this server last read it
        (checked again when the run is written); None when that needs the database."""
        if request.on_exception not in (None, "pause", "fail") or request.file_ids:
            return None
        found = self.processes.seen_for_run(principal, request.process_id, request.agent_id, request.stage)
        if found is None:
            return None
        process, runnable = found
        return self._new_run(request, process, runnable, seen=process.updated_at)

    def _new_run(
        self, request: RunRequest, process: Process, runnable: Runnable, *, seen: datetime | None = None
    ) -> NewRun:
        on_exception = request.on_exception
        return NewRun(
            id=ids.new_id(),
            agent_id=request.agent_id,
            process_id=request.process_id,
            name=fit_name(request.name, process.name),
            stage=request.stage,
            version=runnable.version,
            sha256=runnable.sha256,
            inputs=normalize_inputs(request.inputs),
            file_ids=self._check_files(request.agent_id, request.file_ids or []),
            trigger=request.trigger,
            trigger_ref=request.trigger_ref,
            rerun_of=request.rerun_of,
            parent_run_id=request.parent_run_id,
            exec_state={"options": {"on_exception": on_exception}} if on_exception else None,
            max_attempts=self.max_attempts,
            timeout_s=run_timeout(runnable.settings, self.timeout_s),
            created_at=utcnow(),
            process_seen=seen,
        )

    def prepare_many(
        self, principal: Principal, requests: Sequence[RunRequest]
    ) -> list[NewRun | PlainrunError]:
        """:meth:`prepare` for each request: its run, or why it was refused."""
        prepared: list[NewRun | PlainrunError] = []
        for request in requests:
            try:
                prepared.append(self.prepare(principal, request))
            except PlainrunError as exc:
                prepared.append(exc)
        return prepared

    def start_many(self, principal: Principal, requests: Sequence[RunRequest]) -> list[Run | PlainrunError]:
        """Start runs, each checked and written on its own (one's refusal is that one's only), all
        in one transaction when they can be: each run, or why it was refused."""
        prepared = self.prepare_many(principal, requests)
        made = iter(self.store.runs.create_each([n for n in prepared if isinstance(n, NewRun)]))
        return [next(made) if isinstance(n, NewRun) else n for n in prepared]

    def start(self, principal: Principal, request: RunRequest) -> Run:
        (result,) = self.start_many(principal, [request])
        if isinstance(result, PlainrunError):
            raise result
        return result

    async def start_async(
        self, principal: Principal, request: RunRequest, executor: Executor | None = None
    ) -> Run:
        """:meth:`start` from an event loop: checked on the loop from the process as last read (or
        where the database allows it), and written with the other runs of the same turn of the loop."""
        new = self.prepare_seen(principal, request)
        if new is not None:
            try:
                (run,) = await self.store.runs.create_async([new], executor)
                return run
            except ProcessChanged:
                pass  # changed since it was read: prepared again from a read of the moment
        new = await self.store.call(self.prepare, principal, request, executor=executor)
        (run,) = await self.store.runs.create_async([new], executor)
        return run

    # --- idempotent starts ------------------------------------------------------------------

    def start_once(self, principal: Principal, request: RunRequest, key: str) -> tuple[Run, bool]:
        """:meth:`start` under an Idempotency-Key: the run and True the first time; the same run as
        first answered and False for a retry with the same request (within a day, through any
        server); a 422 for the same key with another request."""
        principal.require(request.agent_id, "process")
        keyed = Key(request.agent_id, check_key(key), fingerprint("start", request_body(request)))

        def build() -> tuple[list[NewRun], dict[str, Any]]:
            new = self.prepare(principal, request)
            return [new], {"run_ids": [new.id]}

        result, first = self.once(keyed, build)
        return self.get(principal, result["run_ids"][0]).as_created(), first

    def once(
        self, key: Key, build: Callable[[], tuple[Sequence[NewRun], dict[str, Any]]]
    ) -> tuple[dict[str, Any], bool]:
        """What the first request with ``key`` answered, and False; or, for the first, ``build()``'s
        runs written with the key in one transaction, its result, and True."""
        now = utcnow()
        self._sweep(now)
        found = self.store.idempotency.get(key.agent_id, key.key, now=now)
        if found is None:
            new_runs, result = build()
            found = self.store.idempotency.start(KeyRecord.first(key, result, now), new_runs)
            if found is None:
                return result, True
        if found.fingerprint != key.fingerprint:
            raise KeyReused(
                "This Idempotency-Key was used with another request in the last 24 hours; "
                "use a new key for a new request.",
                details=[("Idempotency-Key", key.key[:100])],
            )
        return found.result, False

    def _sweep(self, now: datetime) -> None:
        """Forget expired keys, once a minute at most (from whichever request comes)."""
        if self._swept_at is not None and now - self._swept_at < SWEEP_EVERY:
            return
        self._swept_at = now
        self.store.idempotency.sweep(now)

    def rerun_request(self, original: Run) -> RunRequest:
        """A new run with the same inputs, files and stage, at the stage's current version."""
        return RunRequest(
            agent_id=original.agent_id,
            process_id=original.process_id,
            stage=original.stage,
            name=original.name,
            inputs=original.inputs,
            file_ids=original.file_ids,
            trigger=Trigger.RERUN,
            trigger_ref=original.id,
            rerun_of=original.id,
        )

    def _check_files(self, agent_id: str, file_ids: Sequence[str]) -> list[str]:
        if len(file_ids) > MAX_FILES:
            raise InvalidInput(f"A run takes at most {MAX_FILES} files.")
        unique = list(dict.fromkeys(file_ids))
        found = self.store.files.get_many([f for f in unique if ids.is_id(f)])
        missing = [f for f in unique if f not in found or found[f].agent_id != agent_id or not found[f].ready]
        if missing:
            raise NotFound("A file was not found.", details=[("file_id", f) for f in missing])
        return unique

    # --- reading -------------------------------------------------------------------------------

    def get(self, principal: Principal, run_id: str) -> Run:
        run = self.store.runs.get(run_id) if ids.is_id(run_id) else None
        if run is None or not principal.can_see(run.agent_id):
            raise NotFound("The run was not found.")
        return run

    def events(self, principal: Principal, run_id: str) -> list[RunEvent]:
        self.get(principal, run_id)
        return self.store.runs.events(run_id)

    def page(
        self,
        principal: Principal,
        *,
        agent_id: str,
        process_id: str | None,
        where: RunFilter = RunFilter(),
        limit: int = 10,
        continuation_token: str | None = None,
    ) -> Page[Run]:
        """Runs of a process (or, with no ``process_id``, of the whole agent), newest first,
        keyset-paged. The token carries the query, so it cannot be moved to another."""
        query = {"p": process_id, "a": agent_id, **where.query()}
        before = self._pages.position(continuation_token, query)
        rows = self.store.runs.page(
            self._query(principal, agent_id, process_id, where), before_id=before, limit=limit + 1
        )
        return self._pages.page(rows, limit, query, key=lambda r: r.id)

    def count(
        self,
        principal: Principal,
        *,
        agent_id: str,
        process_id: str | None,
        where: RunFilter = RunFilter(),
        most: int = 1_000_000_000,
    ) -> int:
        """How many runs :meth:`page` shows over all its pages, counted no further than ``most``
        (a list shows "more than …" beyond it: counting costs what reading the runs costs)."""
        return self.store.runs.count(self._query(principal, agent_id, process_id, where), most=most)

    def _query(
        self, principal: Principal, agent_id: str, process_id: str | None, where: RunFilter
    ) -> RunQuery:
        if process_id is not None:
            self.processes.get(principal, process_id, agent_id)
        else:
            principal.require(agent_id, "agent")
            if self.store.agents.get(agent_id) is None:
                raise NotFound("The agent was not found.")
        return where.of(process_id=process_id, agent_id=agent_id)

    def count_by_state(self) -> dict[str, int]:
        """How many runs are in each state (of every agent: for the service's own metrics)."""
        return self.store.runs.count_by_state()

    def children(self, principal: Principal, run_id: str) -> list[Run]:
        """The child runs ``run_id`` started (at most 50), oldest first."""
        self.get(principal, run_id)
        return self.store.runs.children(run_id)

    def files(self, principal: Principal, run: Run) -> list[FileRecord]:
        """A run's files, in its order."""
        self.get(principal, run.id)
        found = self.store.files.get_many(run.file_ids)
        return [found[f] for f in run.file_ids if f in found]

    def source_line(self, principal: Principal, run: Run, line: int) -> str | None:
        """Line ``line`` of the source the run runs, if there is one."""
        self.get(principal, run.id)
        lines = self.store.processes.source(run.sha256).splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else None

    # --- changing --------------------------------------------------------------------------

    def cancel(self, principal: Principal, run_id: str, *, reason: str = "cancelled") -> Run:
        self.get(principal, run_id)
        return self.store.execution.cancel(run_id, reason=reason)

    def set_archived(self, principal: Principal, run_ids: Sequence[str], archived: bool) -> dict[str, str]:
        """Archive or unarchive; per id: ``archived``, ``unarchived``, ``unchanged`` or ``not_found``."""
        visible = {
            rid: run
            for rid, run in self.store.runs.get_many([r for r in run_ids if ids.is_id(r)]).items()
            if principal.can_see(run.agent_id)
        }
        changed = set(self.store.runs.set_archived(list(visible), archived))
        word = "archived" if archived else "unarchived"
        return {
            rid: (word if rid in changed else "unchanged") if rid in visible else "not_found"
            for rid in run_ids
        }
