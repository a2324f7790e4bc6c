"""What runs inside an executor process: one attempt of one run, through the interpreter.

``execute(payload)`` is the pool's target. It parses the process (cached by source hash, so a
process is parsed once per executor), starts or resumes its execution, and returns a JSON-able
outcome for the worker to record. The environment reaches files, the box and mail settings; it
holds its own database connection, opened once per executor process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from plainrun.domain.ids import new_id
from plainrun.domain.outbound import OutboundPolicy
from plainrun.domain.processes import Runnable, run_timeout
from plainrun.domain.runs import MAX_CHILDREN, RunState
from plainrun.engine.live import LiveLog
from plainrun.errors import InvalidInput, TooLarge
from plainrun.language import (
    BookError,
    Execution,
    Failed,
    FileRef,
    LimitExceeded,
    Paused,
    Program,
    SmtpSettings,
    Succeeded,
    WaitForRuns,
    Waiting,
    parse,
)
from plainrun.language.values import input_value
from plainrun.services.box import BoxService
from plainrun.store import Store, open_store
from plainrun.store.blobs import BlobPlace, BlobStorage, open_blobs

_programs: OrderedDict[str, Program] = OrderedDict()
_stores: dict[tuple[str, bool, str], Store] = {}
_opening = threading.Lock()


def _program(sha256: str, source: str) -> Program:
    program = _programs.get(sha256)
    if program is None:
        program = _programs[sha256] = parse(source)
        if len(_programs) > 128:
            _programs.popitem(last=False)
    return program


def _store(url: str, fast: bool, synchronous: str) -> Store:
    key = (url, fast, synchronous)
    with _opening:  # the run's thread and the live log's may both ask first
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = open_store(url, fast=fast, sqlite_synchronous=synchronous)
    return store


@contextlib.contextmanager
def _as_book_error() -> Iterator[None]:
    """A service's refusal as the language's error (it names the line that asked)."""
    try:
        yield
    except InvalidInput as exc:
        raise BookError(exc.message) from exc


def execution_email(facts: dict[str, Any] | None) -> dict[str, Any] | None:
    """Stored e-mail facts as the value of ``the email`` for ``Execution.start(..., email=…)``:
    attachments as files, the date as a date and time."""
    if not facts:
        return None
    date = facts.get("date")
    return {
        **facts,
        "date": dt.datetime.fromisoformat(date) if date else None,
        "attachments": [
            FileRef(f["id"], f["name"], f.get("size") or 0, f["content_type"]) for f in facts["attachments"]
        ],
    }


class RunEnvironment:
    """The outside world of one run, backed by the service's store and file storage."""

    def __init__(self, payload: dict[str, Any], program: Program):
        self.run = payload["run"]
        self.agent_id: str = self.run["agent_id"]
        self._store_args: dict[str, Any] = payload["store"]
        self._blob_place = BlobPlace.from_json(payload["blobs"])
        smtp = payload.get("smtp") or {}
        self.smtp = SmtpSettings(**smtp) if smtp else SmtpSettings()
        self.outbound = OutboundPolicy.from_json(payload.get("outbound") or {})
        self.lines: list[str] = []
        run_id, attempt = self.run["id"], self.run.get("attempt", 0)
        self.live = LiveLog(lambda lines: self.store.execution.log(run_id, attempt, lines))
        self.program: Program = program
        self.sha256: str = payload["sha256"]
        self.defaults: dict[str, Any] = payload.get("defaults") or {}
        self.new_children: list[dict[str, Any]] = []
        self._children_before: int | None = None
        bounds = payload.get("file_bounds") or {}
        #: The bytes of files this attempt may write in all, and the agent's quota.
        self._attempt_bytes: int | None = bounds.get("attempt_bytes")
        self._quota_bytes: int | None = bounds.get("agent_quota_bytes")
        self._written = 0

    @property
    def store(self) -> Store:
        args = self._store_args
        return _store(args["url"], args["fast"], args["synchronous"])

    def _blobs(self) -> BlobStorage:
        return open_blobs(self._blob_place, self.store)

    def _record(self, file_id: str) -> Any:
        record = self.store.files.get(file_id)
        if record is None or record.agent_id != self.agent_id or not record.ready:
            raise BookError(f"there is no file with id {file_id}")
        return record

    def read_file(self, file_id: str) -> bytes:
        self._record(file_id)
        with self._blobs().open(file_id) as stream:
            return stream.read()

    def file_info(self, file_id: str) -> tuple[str, int, str]:
        record = self._record(file_id)
        return record.name, record.size or 0, record.content_type

    def write_file(self, name: str, data: bytes, content_type: str) -> FileRef:
        """Store a file the run wrote, within the attempt's bound and the agent's quota; a file
        over either fails the run (a limit, not a question) and nothing of it is kept."""
        from plainrun.services.access import Principal
        from plainrun.services.agents import AgentService
        from plainrun.services.files import FileService

        bound = self._attempt_bytes
        if bound is not None and self._written + len(data) > bound:
            raise LimitExceeded(
                f"a run may write at most {bound} bytes of files (PLAINRUN_MAX_RUN_FILE_BYTES); "
                f"{self._written} are written and this file has {len(data)}"
            )
        files = FileService(
            self.store,
            AgentService(self.store),
            self._blobs(),
            secret=b"job",
            base_url="",
            max_bytes=max(bound or 0, 1 << 30),
            ttl_s=60,
            quota_bytes=self._quota_bytes,
        )
        try:
            record = files.put(
                Principal("job", self.agent_id),
                agent_id=self.agent_id,
                name=name,
                content_type=content_type,
                data=data,
            )
        except TooLarge as exc:
            raise LimitExceeded(exc.message) from exc
        self._written += len(data)
        return FileRef(record.id, record.name, record.size or 0, record.content_type)

    def box_get(self, key: str) -> Any:
        with _as_book_error():
            return BoxService(self.store).get(self.agent_id, key)

    def box_set(self, key: str, value: Any) -> None:
        with _as_book_error():
            BoxService(self.store).set(self.agent_id, key, value)

    def box_delete(self, key: str) -> None:
        with _as_book_error():
            BoxService(self.store).delete(self.agent_id, key)

    def log(self, line: str) -> None:
        self.lines.append(line)
        self.live.add(line)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    # --- child runs ------------------------------------------------------------------------------
    # A child is decided here and created by the worker together with this attempt's outcome, in
    # one transaction: an attempt that is lost creates none, and a replayed start creates none again.

    def start_child(self, process: str, inputs: dict[str, Any]) -> str:
        if self._children_before is None:
            self._children_before = self.store.runs.count_children(self.run["id"])
        if self._children_before + len(self.new_children) >= MAX_CHILDREN:
            raise BookError(f"a run may start at most {MAX_CHILDREN} child runs")
        found = self.store.processes.named(self.agent_id, process)
        entry = None
        if found is None:
            # A procedure of this run's own process runs as a child of the same version.
            entry = self.program.procedure_called(process)
            if entry is None:
                raise BookError(f'there is no process named "{process.strip().removeprefix("/")}"')
            found = Runnable(
                process_id=self.run["process_id"],
                name=self.run.get("name") or process,
                stage=self.run["stage"],
                version=self.run.get("version", 0),
                sha256=self.sha256,
                settings={},
            )
        state = Execution.start(self.program, inputs, [], self, on_exception="fail", entry=entry).to_json()
        child_id = new_id()
        self.new_children.append(
            {
                "id": child_id,
                "agent_id": self.agent_id,
                "process_id": found.process_id,
                "name": found.name[:100],
                "stage": found.stage,
                "version": found.version,
                "sha256": found.sha256,
                "inputs": [{"name": name, "value": input_value(value)} for name, value in inputs.items()],
                "file_ids": [],
                "trigger_ref": self.run["id"],
                "parent_run_id": self.run["id"],
                "max_attempts": self.defaults.get("max_attempts", 3),
                "timeout_s": run_timeout(found.settings, self.defaults.get("timeout_s", 300.0)),
                "exec_state": state,
            }
        )
        return child_id

    def wait_children(self, ids: list[str]) -> list[list[dict[str, Any]]]:
        created_now = {child["id"] for child in self.new_children}
        if created_now.intersection(ids):
            raise WaitForRuns(ids)
        runs = self.store.runs.get_many(ids)
        unknown = [i for i in ids if i not in runs or runs[i].parent_run_id != self.run["id"]]
        if unknown:
            raise BookError(f"there is no child run {unknown[0]}")
        if any(not runs[i].state.is_final for i in ids):
            raise WaitForRuns(ids)
        results = []
        for i in ids:
            child = runs[i]
            if child.state is not RunState.SUCCEEDED:
                reason = (child.error or {}).get("message") or child.state.value
                raise BookError(f'the child run {i} of "{child.name}" ended {child.state.value}: {reason}')
            results.append(child.outputs or [])
        return results


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    """One attempt of a run: started afresh, or resumed from its saved execution by replay."""
    program = _program(payload["sha256"], payload["source"])
    env = RunEnvironment(payload, program)
    execution = _execution(payload, program, env)
    try:
        outcome = execution.run()
    finally:
        unwritten = env.live.close()  # the lines not written live go with the outcome
    common = {"log": unwritten, "children": env.new_children}
    if isinstance(outcome, Succeeded):
        return {**common, "outcome": "succeeded", "outputs": outcome.outputs}
    if isinstance(outcome, Waiting):
        exec_state = {**execution.to_json(), "waiting_for": outcome.runs}
        return {**common, "outcome": "waiting", "runs": outcome.runs, "exec_state": exec_state}
    if isinstance(outcome, Paused):
        error = {
            "kind": outcome.kind,
            "message": outcome.question,
            "question": outcome.question,
            "line": outcome.line,
            "column": outcome.column,
            "choices": outcome.choices,
            "asked_at": dt.datetime.now(dt.UTC).isoformat(),
            "facts": outcome.facts,
            "known_facts": outcome.known_facts,
        }
        return {**common, "outcome": "paused", "error": error, "exec_state": execution.to_json()}
    assert isinstance(outcome, Failed)
    error = {"kind": outcome.kind, "message": outcome.message, "line": outcome.line, "column": outcome.column}
    return {**common, "outcome": "failed", "error": error}


def _execution(payload: dict[str, Any], program: Program, env: RunEnvironment) -> Execution:
    saved = payload.get("exec_state")
    if saved and "journal" in saved:
        return Execution.from_json(program, saved, env)
    options = (saved or {}).get("options") or {}
    # The run's own choice, then the process text's ``on exception:``, then its setting.
    on_exception = options.get("on_exception") or program.on_exception or payload.get("on_exception", "pause")
    files = [FileRef(f["id"], f["name"], f["size"] or 0, f["content_type"]) for f in payload["files"]]
    return Execution.start(
        program,
        payload["run"]["inputs"],
        files,
        env,
        on_exception=on_exception,
        email=execution_email(payload.get("email")),
    )
