"""What runs inside an executor process: one attempt of one run, through the interpreter.

``execute(payload)`` is the pool's target. It parses the process (cached by source hash, so a
process is parsed once per executor), starts or resumes its execution, and returns a JSON-able
outcome for the worker to record. The environment reaches files, the box and mail settings; it
holds its own database connection, opened once per executor process.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from pathlib import Path
from typing import Any

from plainrun.blobs import LocalBlobStorage
from plainrun.language import (
    BookError,
    Execution,
    Failed,
    FileRef,
    Paused,
    Program,
    SmtpSettings,
    Succeeded,
    parse,
)
from plainrun.mail.message import execution_email
from plainrun.store import open_store
from plainrun.store.sql import SqlStore

_programs: OrderedDict[str, Program] = OrderedDict()
_stores: dict[str, SqlStore] = {}


def _program(sha256: str, source: str) -> Program:
    program = _programs.get(sha256)
    if program is None:
        program = _programs[sha256] = parse(source)
        if len(_programs) > 128:
            _programs.popitem(last=False)
    return program


def _store(url: str) -> SqlStore:
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = open_store(url)
    return store


class RunEnvironment:
    """The outside world of one run, backed by the service's store and file storage."""

    def __init__(self, payload: dict[str, Any]):
        self.run = payload["run"]
        self.agent_id: str = self.run["agent_id"]
        self._url: str = payload["database_url"]
        self._blobs = LocalBlobStorage(Path(payload["data_dir"]) / "files")
        smtp = payload.get("smtp") or {}
        self.smtp = SmtpSettings(**smtp) if smtp else SmtpSettings()
        self.lines: list[str] = []

    @property
    def store(self) -> SqlStore:
        return _store(self._url)

    def _record(self, file_id: str) -> Any:
        record = self.store.get_file(file_id)
        if record is None or record.agent_id != self.agent_id or not record.ready:
            raise BookError(f"there is no file with id {file_id}")
        return record

    def read_file(self, file_id: str) -> bytes:
        self._record(file_id)
        with self._blobs.open(file_id) as stream:
            return stream.read()

    def file_info(self, file_id: str) -> tuple[str, int, str]:
        record = self._record(file_id)
        return record.name, record.size or 0, record.content_type

    def write_file(self, name: str, data: bytes, content_type: str) -> FileRef:
        from plainrun.services.access import Principal
        from plainrun.services.files import FileService

        files = FileService(self.store, self._blobs, secret=b"job", base_url="", max_bytes=1 << 30, ttl_s=60)
        record = files.put(
            Principal("job", self.agent_id),
            agent_id=self.agent_id,
            name=name,
            content_type=content_type,
            data=data,
        )
        return FileRef(record.id, record.name, record.size or 0, record.content_type)

    def box_get(self, key: str) -> Any:
        return self.store.box_get(self.agent_id, key)

    def box_set(self, key: str, value: Any) -> None:
        self.store.box_set(self.agent_id, key, value)

    def box_delete(self, key: str) -> None:
        self.store.box_delete(self.agent_id, key)

    def log(self, line: str) -> None:
        self.lines.append(line)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)

    def start_child(self, process: str, inputs: dict[str, Any]) -> str:
        raise BookError("child runs of other processes are not available in this version")

    def wait_children(self, ids: list[str]) -> list[list[dict[str, Any]]]:
        raise BookError("child runs of other processes are not available in this version")


def execute(payload: dict[str, Any]) -> dict[str, Any]:
    program = _program(payload["sha256"], payload["source"])
    env = RunEnvironment(payload)
    saved = payload.get("exec_state")
    if saved:
        execution = Execution.from_json(program, saved, env)
    else:
        files = [FileRef(f["id"], f["name"], f["size"] or 0, f["content_type"]) for f in payload["files"]]
        execution = Execution.start(
            program,
            payload["run"]["inputs"],
            files,
            env,
            on_exception=payload.get("on_exception", "pause"),
            email=execution_email(payload.get("email")),
        )
    logged_before = len(execution.log)
    outcome = execution.run()
    log = [{"text": line} for line in outcome.log[logged_before:]]
    if isinstance(outcome, Succeeded):
        return {"outcome": "succeeded", "outputs": outcome.outputs, "log": log}
    if isinstance(outcome, Paused):
        return {
            "outcome": "paused",
            "error": {
                "kind": outcome.kind,
                "message": outcome.question,
                "question": outcome.question,
                "line": outcome.line,
                "column": outcome.column,
                "choices": outcome.choices,
                "facts": outcome.facts,
                "known_facts": outcome.known_facts,
            },
            "exec_state": execution.to_json(),
            "log": log,
        }
    assert isinstance(outcome, Failed)
    return {
        "outcome": "failed",
        "error": {
            "kind": outcome.kind,
            "message": outcome.message,
            "line": outcome.line,
            "column": outcome.column,
        },
        "log": log,
    }
