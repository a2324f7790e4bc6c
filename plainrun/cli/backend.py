"""What the everyday commands work on: a :class:`Backend`, a driver of the client's calls
(:mod:`plainrun.client.calls`), whose methods are the client's.

Two drivers: :class:`plainrun.client.Client` (a remote service, through its HTTP API and the key's
scope) and :class:`LocalBackend` (the services over the configured database, as the installation),
which answers each call with its handler below in the API's shapes, read as the client reads the
service's answers. Each command is written once over the client's methods; both give the same
typed results (the client's models), so a command prints the same either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, TypeVar

from plainrun.cli import remote
from plainrun.cli._common import fail, services
from plainrun.client import Client, ClientError, calls
from plainrun.client.models import Run
from plainrun.client.sync import Driver
from plainrun.client.wire import Call, read_result
from plainrun.domain.runs import RunState, Stage, Trigger
from plainrun.errors import InvalidInput
from plainrun.http.api import render
from plainrun.services.access import SYSTEM
from plainrun.services.container import Services
from plainrun.services.runs import RunFilter, RunRequest

#: What the everyday commands work on: the client's methods, answered at once.
Backend = Driver
StageName = calls.Stage

C = TypeVar("C", bound=Call[Any])
T = TypeVar("T")
#: A call's result in the API's JSON shapes (``render``'s), read as the client reads an answer.
Wire = dict[str, Any] | list[Any] | None
Handler = Callable[[Services, C], Wire]
_HANDLERS: dict[type[Call[Any]], Handler[Any]] = {}


def _handles(kind: type[C]) -> Callable[[Handler[C]], Handler[C]]:
    """The local answer to the calls of ``kind``."""

    def register(handler: Handler[C]) -> Handler[C]:
        _HANDLERS[kind] = handler
        return handler

    return register


class LocalBackend(Driver):
    """The client's calls answered by the services of the configured database, as the installation
    (every agent), in the shapes the API answers with. A manual run (trigger ``manual``) may fail
    at its first exception (``on_exception``)."""

    def __init__(self, services: Services):
        self.s = services

    def drive(self, call: Call[T], /) -> T:
        handler = _HANDLERS.get(type(call))
        if handler is None:
            raise NotImplementedError(f"{type(call).__name__} works on a remote service only")
        return read_result(type(call), handler(self.s, call))

    def start_failing_fast(self, call: calls.StartRun) -> Run:
        """Start a run that fails at its first exception instead of waiting for guidance."""
        return Run.model_validate(_start(self.s, call, on_exception="fail"))


def _bulk(results: Mapping[str, str] | Sequence[Mapping[str, Any]]) -> Wire:
    if isinstance(results, Mapping):
        return [{"run_id": run_id, "result": result} for run_id, result in results.items()]
    return list(results)


def _page(page: Any, render_item: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [render_item(i) for i in page.items], "continuation_token": page.continuation_token}


# --- processes -------------------------------------------------------------------------------


@_handles(calls.ListProcesses)
def _list_processes(s: Services, c: calls.ListProcesses) -> Wire:
    page = s.processes.page(SYSTEM, c.agent_id, limit=c.page_size, continuation_token=c.continuation_token)
    return _page(page, render.process)


def _full(draft: Any) -> Wire:
    return render.process(draft.process, source=draft.source, inputs=draft.inputs)


@_handles(calls.GetProcess)
def _get_process(s: Services, c: calls.GetProcess) -> Wire:
    return _full(s.processes.draft(SYSTEM, c.process_id))


@_handles(calls.CreateProcess)
def _create_process(s: Services, c: calls.CreateProcess) -> Wire:
    settings = dict(c.settings or {}) or None
    process = s.processes.create(SYSTEM, agent_id=c.agent_id, source=c.source, name=c.name, settings=settings)
    return _full(s.processes.as_draft(process))


@_handles(calls.UpdateProcess)
def _update_process(s: Services, c: calls.UpdateProcess) -> Wire:
    settings = dict(c.settings) if c.settings else None
    process = s.processes.update_draft(SYSTEM, c.process_id, source=c.source, name=c.name, settings=settings)
    return _full(s.processes.as_draft(process))


@_handles(calls.PublishProcess)
def _publish_process(s: Services, c: calls.PublishProcess) -> Wire:
    version = s.processes.publish(SYSTEM, c.process_id)
    return render.version(version, created=version.created)


@_handles(calls.ProcessVersions)
def _process_versions(s: Services, c: calls.ProcessVersions) -> Wire:
    return [render.version(v) for v in s.processes.versions(SYSTEM, c.process_id)]


# --- runs ------------------------------------------------------------------------------------


def _start(s: Services, c: calls.StartRun, on_exception: Literal["fail"] | None = None) -> Wire:
    request = RunRequest(
        agent_id=c.agent_id,
        process_id=c.process_id,
        stage=Stage(c.stage),
        name=c.name,
        inputs=dict(c.inputs or {}),
        file_ids=list(c.file_ids or []),
        trigger=Trigger.MANUAL,
        on_exception=on_exception,
    )
    return render.run(s.runs.start(SYSTEM, request))


_handles(calls.StartRun)(_start)


@_handles(calls.GetRun)
def _get_run(s: Services, c: calls.GetRun) -> Wire:
    return render.run(s.runs.get(SYSTEM, c.run_id))


@_handles(calls.ListRuns)
def _list_runs(s: Services, c: calls.ListRuns) -> Wire:
    states = [RunState(state) for state in c.states]
    where = RunFilter(stage=Stage(c.stage) if c.stage else None, archived=c.archived, states=states)
    page = s.runs.page(
        SYSTEM,
        agent_id=c.agent_id,
        process_id=c.process_id,
        where=where,
        limit=c.page_size,
        continuation_token=c.continuation_token,
    )
    return _page(page, render.run)


@_handles(calls.RunEvents)
def _run_events(s: Services, c: calls.RunEvents) -> Wire:
    return [render.event(e) for e in s.runs.events(SYSTEM, c.run_id)]


@_handles(calls.CancelRun)
def _cancel_run(s: Services, c: calls.CancelRun) -> Wire:
    return render.run(s.runs.cancel(SYSTEM, c.run_id))


@_handles(calls.RerunRuns)
def _rerun_runs(s: Services, c: calls.RerunRuns) -> Wire:
    return _bulk(s.tests.rerun(SYSTEM, c.run_ids))


@_handles(calls.ArchiveRuns)
def _archive_runs(s: Services, c: calls.ArchiveRuns) -> Wire:
    return _bulk(s.runs.set_archived(SYSTEM, c.run_ids, True))


@_handles(calls.UnarchiveRuns)
def _unarchive_runs(s: Services, c: calls.UnarchiveRuns) -> Wire:
    return _bulk(s.runs.set_archived(SYSTEM, c.run_ids, False))


# --- guidance --------------------------------------------------------------------------------


@_handles(calls.AnswerRun)
def _answer_run(s: Services, c: calls.AnswerRun) -> Wire:
    run = s.guidance.answer(SYSTEM, c.run_id, action=c.action, value=c.value, remember=c.remember)
    return render.run(run)


@_handles(calls.ListLearnings)
def _list_learnings(s: Services, c: calls.ListLearnings) -> Wire:
    items = s.guidance.learnings(SYSTEM, process_id=c.process_id)
    return [render.learning(i) for i in items]


@_handles(calls.DeleteLearning)
def _delete_learning(s: Services, c: calls.DeleteLearning) -> None:
    s.guidance.forget(SYSTEM, c.learning_id)


# --- files -----------------------------------------------------------------------------------


@_handles(calls.UploadFile)
def _upload_file(s: Services, c: calls.UploadFile) -> Wire:
    if c.agent_id is None:
        raise InvalidInput("A file needs the agent it belongs to.", details=[("agent_id", "missing")])
    name, data, kind = replace(c, name=c.name or ("file" if isinstance(c.source, bytes) else None)).contents()
    record = s.files.put(SYSTEM, agent_id=c.agent_id, name=name, content_type=kind, data=data)
    return render.file(record)


@_handles(calls.GetFile)
def _get_file(s: Services, c: calls.GetFile) -> Wire:
    return render.file(s.files.get(SYSTEM, c.file_id))


# --- schedules -------------------------------------------------------------------------------


def _schedule(s: Services, schedule: Any) -> Wire:
    return render.schedule(schedule, s.schedules.next_fire_times(schedule))


@_handles(calls.CreateSchedule)
def _create_schedule(s: Services, c: calls.CreateSchedule) -> Wire:
    schedule = s.schedules.create(
        SYSTEM,
        agent_id=c.agent_id,
        process_id=c.process_id,
        name=c.name,
        kind=c.kind,
        timezone=c.timezone,
        inputs=dict(c.inputs or {}),
        catch_up=c.catch_up,
        catch_up_window_s=c.window_s,
        enabled=c.enabled,
        **c.timing,
    )
    return _schedule(s, schedule)


@_handles(calls.ListSchedules)
def _list_schedules(s: Services, c: calls.ListSchedules) -> Wire:
    items = s.schedules.of_agent(SYSTEM, agent_id=c.agent_id, process_id=c.process_id)
    return [_schedule(s, i) for i in items]


@_handles(calls.GetSchedule)
def _get_schedule(s: Services, c: calls.GetSchedule) -> Wire:
    return _schedule(s, s.schedules.get(SYSTEM, c.schedule_id))


@_handles(calls.UpdateSchedule)
def _update_schedule(s: Services, c: calls.UpdateSchedule) -> Wire:
    return _schedule(s, s.schedules.update(SYSTEM, c.schedule_id, **c.changes))


@_handles(calls.DeleteSchedule)
def _delete_schedule(s: Services, c: calls.DeleteSchedule) -> None:
    s.schedules.delete(SYSTEM, c.schedule_id)


# --- the Test Suite --------------------------------------------------------------------------


@_handles(calls.AddTestCases)
def _add_test_cases(s: Services, c: calls.AddTestCases) -> Wire:
    return _bulk(s.tests.add_cases(SYSTEM, c.run_ids, outputs=c.outputs))


@_handles(calls.ListTestCases)
def _list_test_cases(s: Services, c: calls.ListTestCases) -> Wire:
    cases = s.tests.cases(SYSTEM, agent_id=c.agent_id, process_id=c.process_id)
    return [render.test_case(i) for i in cases]


@_handles(calls.RemoveTestCase)
def _remove_test_case(s: Services, c: calls.RemoveTestCase) -> None:
    s.tests.remove_case(SYSTEM, c.test_case_id)


@_handles(calls.StartTestRun)
def _start_test_run(s: Services, c: calls.StartTestRun) -> Wire:
    started = s.tests.start(
        SYSTEM, agent_id=c.agent_id, process_ids=list(c.process_ids), stage=Stage(c.stage)
    )
    return render.test_run(*started)


@_handles(calls.GetTestRun)
def _get_test_run(s: Services, c: calls.GetTestRun) -> Wire:
    return render.test_run(*s.tests.get(SYSTEM, c.test_run_id))


@_handles(calls.StopTestRun)
def _stop_test_run(s: Services, c: calls.StopTestRun) -> Wire:
    return render.test_run(*s.tests.stop(SYSTEM, c.test_run_id))


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
