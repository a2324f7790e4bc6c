"""What the everyday commands work on: a :class:`Backend`, the service's operations in the API's shapes.

Two implementations: :class:`plainrun.client.Client` (a remote service, through its HTTP API and
the key's scope) and :class:`LocalBackend` (the services over the configured database, as the
installation). Each command is written once over the protocol; both give the same typed results
(the client's models), so a command prints the same either way.
"""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from plainrun.cli import remote
from plainrun.cli._common import fail, services
from plainrun.client import Client, ClientError
from plainrun.client.models import (
    BulkResult,
    File,
    Learning,
    Process,
    ProcessVersion,
    Run,
    RunEvent,
    Schedule,
    TestCase,
    TestRun,
    Value,
)
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.errors import InvalidInput
from plainrun.http.api import render
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from plainrun.services.runs import RunFilter, RunRequest

StageName = Literal["Draft", "Published"]
Action = Literal["value", "retry", "skip", "stop"]
Kind = Literal["hourly", "daily", "weekly", "every", "cron"]


class Backend(Protocol):
    """The operations the everyday commands use (the names and arguments of the client's)."""

    def list_processes(self, agent_id: str) -> Iterator[Process]: ...
    def get_process(self, process_id: str) -> Process: ...
    def create_process(
        self,
        agent_id: str,
        source: str,
        *,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Process: ...
    def update_process(
        self,
        process_id: str,
        *,
        source: str | None = None,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Process: ...
    def publish_process(self, process_id: str) -> ProcessVersion: ...
    def process_versions(self, process_id: str) -> list[ProcessVersion]: ...

    def start_run(
        self,
        process_id: str,
        agent_id: str,
        *,
        name: str,
        stage: StageName = "Published",
        inputs: Mapping[str, Value] | None = None,
        file_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def list_runs(
        self,
        process_id: str,
        agent_id: str,
        *,
        stage: StageName | None = None,
        archived: bool = False,
        states: Sequence[str] = (),
    ) -> Iterator[Run]: ...
    def run_events(self, run_id: str) -> list[RunEvent]: ...
    def cancel_run(self, run_id: str) -> Run: ...
    def rerun_runs(
        self, run_ids: Sequence[str], *, idempotency_key: str | None = None
    ) -> list[BulkResult]: ...
    def archive_runs(self, run_ids: Sequence[str]) -> list[BulkResult]: ...
    def unarchive_runs(self, run_ids: Sequence[str]) -> list[BulkResult]: ...

    def answer_run(
        self, run_id: str, action: Action, value: Value | None = None, *, remember: bool = False
    ) -> Run: ...
    def list_learnings(self, process_id: str) -> list[Learning]: ...
    def delete_learning(self, learning_id: str) -> None: ...

    def upload_file(
        self,
        source: bytes | str | Path,
        *,
        name: str | None = None,
        agent_id: str | None = None,
        content_type: str | None = None,
    ) -> File: ...
    def get_file(self, file_id: str) -> File: ...

    def create_schedule(
        self,
        process_id: str,
        agent_id: str,
        *,
        name: str,
        kind: Kind,
        timing: Mapping[str, Any],
        timezone: str = "UTC",
        inputs: Mapping[str, Value] | None = None,
        catch_up: str = "skip",
        window_s: int | None = None,
        enabled: bool = True,
    ) -> Schedule: ...
    def list_schedules(self, agent_id: str, process_id: str | None = None) -> list[Schedule]: ...
    def get_schedule(self, schedule_id: str) -> Schedule: ...
    def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule: ...
    def delete_schedule(self, schedule_id: str) -> None: ...

    def add_test_cases(
        self, run_ids: Sequence[str], outputs: Sequence[str] | None = None
    ) -> list[BulkResult]: ...
    def list_test_cases(self, process_id: str, agent_id: str) -> list[TestCase]: ...
    def remove_test_case(self, test_case_id: str) -> None: ...
    def start_test_run(
        self, agent_id: str, process_ids: Sequence[str], stage: StageName = "Published"
    ) -> TestRun: ...
    def get_test_run(self, test_run_id: str) -> TestRun: ...
    def stop_test_run(self, test_run_id: str) -> TestRun: ...


def _bulk(results: Mapping[str, str] | Sequence[Mapping[str, Any]]) -> list[BulkResult]:
    if isinstance(results, Mapping):
        return [BulkResult(run_id=run_id, result=result) for run_id, result in results.items()]
    return [BulkResult.model_validate(r) for r in results]


class LocalBackend:
    """The operations over the services of the configured database, as the installation (every
    agent). A manual run (trigger ``manual``) may fail at its first exception (``on_exception``)."""

    def __init__(self, services: Services):
        self.s = services

    # --- processes -------------------------------------------------------------------------

    def list_processes(self, agent_id: str) -> Iterator[Process]:
        token = None
        while True:
            page = self.s.processes.page(SYSTEM, agent_id, limit=100, continuation_token=token)
            yield from (Process.model_validate(render.process(p)) for p in page.items)
            if not (token := page.continuation_token):
                return

    def _full(self, draft: Any) -> Process:
        return Process.model_validate(render.process(draft.process, source=draft.source, inputs=draft.inputs))

    def get_process(self, process_id: str) -> Process:
        return self._full(self.s.processes.draft(SYSTEM, process_id))

    def create_process(
        self,
        agent_id: str,
        source: str,
        *,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Process:
        process = self.s.processes.create(
            SYSTEM, agent_id=agent_id, source=source, name=name, settings=dict(settings or {}) or None
        )
        return self._full(self.s.processes.as_draft(process))

    def update_process(
        self,
        process_id: str,
        *,
        source: str | None = None,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Process:
        process = self.s.processes.update_draft(
            SYSTEM, process_id, source=source, name=name, settings=dict(settings) if settings else None
        )
        return self._full(self.s.processes.as_draft(process))

    def publish_process(self, process_id: str) -> ProcessVersion:
        version = self.s.processes.publish(SYSTEM, process_id)
        return ProcessVersion.model_validate(render.version(version, created=version.created))

    def process_versions(self, process_id: str) -> list[ProcessVersion]:
        versions = self.s.processes.versions(SYSTEM, process_id)
        return [ProcessVersion.model_validate(render.version(v)) for v in versions]

    # --- runs ------------------------------------------------------------------------------

    def start_run(
        self,
        process_id: str,
        agent_id: str,
        *,
        name: str,
        stage: StageName = "Published",
        inputs: Mapping[str, Value] | None = None,
        file_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
        on_exception: Literal["fail"] | None = None,
    ) -> Run:
        request = RunRequest(
            agent_id=agent_id,
            process_id=process_id,
            stage=Stage(stage),
            name=name,
            inputs=dict(inputs or {}),
            file_ids=list(file_ids or []),
            trigger=Trigger.MANUAL,
            on_exception=on_exception,
        )
        return Run.model_validate(render.run(self.s.runs.start(SYSTEM, request)))

    def get_run(self, run_id: str) -> Run:
        return Run.model_validate(render.run(self.s.runs.get(SYSTEM, run_id)))

    def list_runs(
        self,
        process_id: str,
        agent_id: str,
        *,
        stage: StageName | None = None,
        archived: bool = False,
        states: Sequence[str] = (),
    ) -> Iterator[Run]:
        where = RunFilter(
            stage=Stage(stage) if stage else None, archived=archived, states=[RunState(s) for s in states]
        )
        token = None
        while True:
            page = self.s.runs.page(
                SYSTEM,
                agent_id=agent_id,
                process_id=process_id,
                where=where,
                limit=100,
                continuation_token=token,
            )
            yield from (Run.model_validate(render.run(r)) for r in page.items)
            if not (token := page.continuation_token):
                return

    def run_events(self, run_id: str) -> list[RunEvent]:
        return [RunEvent.model_validate(render.event(e)) for e in self.s.runs.events(SYSTEM, run_id)]

    def cancel_run(self, run_id: str) -> Run:
        return Run.model_validate(render.run(self.s.runs.cancel(SYSTEM, run_id)))

    def rerun_runs(self, run_ids: Sequence[str], *, idempotency_key: str | None = None) -> list[BulkResult]:
        return _bulk(self.s.tests.rerun(SYSTEM, run_ids))

    def archive_runs(self, run_ids: Sequence[str]) -> list[BulkResult]:
        return _bulk(self.s.runs.set_archived(SYSTEM, run_ids, True))

    def unarchive_runs(self, run_ids: Sequence[str]) -> list[BulkResult]:
        return _bulk(self.s.runs.set_archived(SYSTEM, run_ids, False))

    # --- guidance --------------------------------------------------------------------------

    def answer_run(
        self, run_id: str, action: Action, value: Value | None = None, *, remember: bool = False
    ) -> Run:
        run = self.s.guidance.answer(SYSTEM, run_id, action=action, value=value, remember=remember)
        return Run.model_validate(render.run(run))

    def list_learnings(self, process_id: str) -> list[Learning]:
        items = self.s.guidance.learnings(SYSTEM, process_id=process_id)
        return [Learning.model_validate(render.learning(i)) for i in items]

    def delete_learning(self, learning_id: str) -> None:
        self.s.guidance.forget(SYSTEM, learning_id)

    # --- files -----------------------------------------------------------------------------

    def upload_file(
        self,
        source: bytes | str | Path,
        *,
        name: str | None = None,
        agent_id: str | None = None,
        content_type: str | None = None,
    ) -> File:
        if agent_id is None:
            raise InvalidInput("A file needs the agent it belongs to.", details=[("agent_id", "missing")])
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        name = name or (Path(source).name if not isinstance(source, bytes) else "file")
        kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        record = self.s.files.put(SYSTEM, agent_id=agent_id, name=name, content_type=kind, data=data)
        return File.model_validate(render.file(record))

    def get_file(self, file_id: str) -> File:
        return File.model_validate(render.file(self.s.files.get(SYSTEM, file_id)))

    # --- schedules -------------------------------------------------------------------------

    def _schedule(self, schedule: Any) -> Schedule:
        times = self.s.schedules.next_fire_times(schedule)
        return Schedule.model_validate(render.schedule(schedule, times))

    def create_schedule(
        self,
        process_id: str,
        agent_id: str,
        *,
        name: str,
        kind: Kind,
        timing: Mapping[str, Any],
        timezone: str = "UTC",
        inputs: Mapping[str, Value] | None = None,
        catch_up: str = "skip",
        window_s: int | None = None,
        enabled: bool = True,
    ) -> Schedule:
        schedule = self.s.schedules.create(
            SYSTEM,
            agent_id=agent_id,
            process_id=process_id,
            name=name,
            kind=kind,
            timezone=timezone,
            inputs=dict(inputs or {}),
            catch_up=catch_up,
            catch_up_window_s=window_s,
            enabled=enabled,
            **timing,
        )
        return self._schedule(schedule)

    def list_schedules(self, agent_id: str, process_id: str | None = None) -> list[Schedule]:
        items = self.s.schedules.of_agent(SYSTEM, agent_id=agent_id, process_id=process_id)
        return [self._schedule(i) for i in items]

    def get_schedule(self, schedule_id: str) -> Schedule:
        return self._schedule(self.s.schedules.get(SYSTEM, schedule_id))

    def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        return self._schedule(self.s.schedules.update(SYSTEM, schedule_id, **changes))

    def delete_schedule(self, schedule_id: str) -> None:
        self.s.schedules.delete(SYSTEM, schedule_id)

    # --- the Test Suite --------------------------------------------------------------------

    def add_test_cases(
        self, run_ids: Sequence[str], outputs: Sequence[str] | None = None
    ) -> list[BulkResult]:
        return _bulk(self.s.tests.add_cases(SYSTEM, run_ids, outputs=outputs))

    def list_test_cases(self, process_id: str, agent_id: str) -> list[TestCase]:
        cases = self.s.tests.cases(SYSTEM, agent_id=agent_id, process_id=process_id)
        return [TestCase.model_validate(render.test_case(c)) for c in cases]

    def remove_test_case(self, test_case_id: str) -> None:
        self.s.tests.remove_case(SYSTEM, test_case_id)

    def start_test_run(
        self, agent_id: str, process_ids: Sequence[str], stage: StageName = "Published"
    ) -> TestRun:
        started = self.s.tests.start(
            SYSTEM, agent_id=agent_id, process_ids=list(process_ids), stage=Stage(stage)
        )
        return TestRun.model_validate(render.test_run(*started))

    def get_test_run(self, test_run_id: str) -> TestRun:
        return TestRun.model_validate(render.test_run(*self.s.tests.get(SYSTEM, test_run_id)))

    def stop_test_run(self, test_run_id: str) -> TestRun:
        return TestRun.model_validate(render.test_run(*self.s.tests.stop(SYSTEM, test_run_id)))


@contextlib.contextmanager
def backend() -> Iterator[Backend]:
    """What an everyday command works on: the remote service when one is configured (``--url``,
    ``PLAINRUN_URL`` or ``plainrun login``), else the services over the database."""
    target = remote.target()
    if target is None:
        with services() as s:
            yield LocalBackend(s)
        return
    client = Client(target.url, target.key)
    try:
        yield client
    except ClientError as exc:
        fail(exc)
    finally:
        client.close()
