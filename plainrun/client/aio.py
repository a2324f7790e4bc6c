"""The asynchronous client: the methods of :class:`~plainrun.client.Client`, awaited; each sends a
call of :mod:`plainrun.client.calls`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from plainrun.client import calls
from plainrun.client.calls import Call, Flow, Inputs, Sleep, Stage
from plainrun.client.models import (
    Agent,
    BulkResult,
    File,
    Learning,
    Page,
    Process,
    ProcessVersion,
    Resource,
    Run,
    RunEvent,
    Schedule,
    TestCase,
    TestRun,
    Value,
)
from plainrun.client.retries import (
    Retries,
    again_after_error,
    again_after_response,
    request_options,
    result,
    unreachable,
)

T = TypeVar("T")
R = TypeVar("R", bound=Resource)


class AsyncClient:
    """A client of a plainrun service: ``AsyncClient("http://host:8080", key="…")``; close it, or use
    it as a context manager. ``transport`` is httpx's (tests pass ``httpx.MockTransport``)."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        self.key = key
        self.retries = retries or Retries()
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    # --- sending ---------------------------------------------------------------------------

    async def send(self, call: Call[T]) -> T:
        """Send one call, retrying as :mod:`plainrun.client.retries` says; its result or its error."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.path, **request_options(call, self.key))
            except httpx.TransportError as exc:
                if attempt >= self.retries.attempts or not again_after_error(call, exc):
                    raise unreachable(self.url, exc) from exc
                await asyncio.sleep(self.retries.wait(attempt))
            else:
                if attempt >= self.retries.attempts or not again_after_response(call, response):
                    return result(call, response)  # type: ignore[no-any-return]
                await asyncio.sleep(self.retries.wait(attempt, response))
            attempt += 1

    async def drive(self, flow: Flow[T]) -> T:
        """Run a flow of calls to its end."""
        answer: Any = None
        try:
            while True:
                step = flow.send(answer)
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    answer = None
                else:
                    answer = await self.send(step)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def every(self, call: Call[Page[R]]) -> AsyncIterator[R]:
        """Every item of a list, page after page."""
        page_call: Call[Page[R]] | None = call
        while page_call is not None:
            page = await self.send(page_call)
            for item in page.items or []:
                yield item
            page_call = calls.next_page(page_call, page)

    # --- runs ------------------------------------------------------------------------------

    async def start_run(
        self,
        process_id: str,
        agent_id: str,
        *,
        name: str,
        stage: Stage = "Published",
        inputs: Inputs = None,
        file_ids: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Start a run; a retry carries the same ``Idempotency-Key`` (made here unless given)."""
        call = calls.start_run(
            process_id,
            agent_id,
            name=name,
            stage=stage,
            inputs=inputs,
            file_ids=file_ids,
            idempotency_key=idempotency_key,
        )
        return await self.send(call)

    async def get_run(self, run_id: str) -> Run:
        return await self.send(calls.get_run(run_id))

    def list_runs(
        self,
        process_id: str,
        agent_id: str,
        *,
        stage: Stage | None = None,
        archived: bool = False,
        states: Sequence[str] = (),
        page_size: int = 100,
    ) -> AsyncIterator[Run]:
        """Every run of a process, newest first (the pages are read as the iterator goes)."""
        return self.every(
            calls.list_runs(
                process_id, agent_id, stage=stage, archived=archived, states=states, limit=page_size
            )
        )

    async def wait_for_run(
        self, run_id: str, *, timeout: float = 600.0, interval: float = 0.5, guidance_ends: bool = True
    ) -> Run:
        """The run once it ended or (with ``guidance_ends``) waits for a person; WaitTimedOut after
        ``timeout`` seconds."""
        return await self.drive(
            calls.wait_for_run(run_id, timeout=timeout, interval=interval, guidance_ends=guidance_ends)
        )

    async def run_events(self, run_id: str) -> list[RunEvent]:
        return await self.send(calls.run_events(run_id))

    async def cancel_run(self, run_id: str) -> Run:
        return await self.send(calls.cancel_run(run_id))

    async def rerun_runs(
        self, run_ids: Sequence[str], *, idempotency_key: str | None = None
    ) -> list[BulkResult]:
        return await self.send(calls.rerun_runs(run_ids, idempotency_key=idempotency_key))

    async def archive_runs(self, run_ids: Sequence[str]) -> list[BulkResult]:
        return await self.send(calls.archive_runs(run_ids, True))

    async def unarchive_runs(self, run_ids: Sequence[str]) -> list[BulkResult]:
        return await self.send(calls.archive_runs(run_ids, False))

    # --- guidance --------------------------------------------------------------------------

    async def answer_run(
        self,
        run_id: str,
        action: Literal["value", "retry", "skip", "stop"],
        value: Value | None = None,
        *,
        remember: bool = False,
    ) -> Run:
        """Answer the question a run waits on."""
        return await self.send(calls.answer_run(run_id, action, value, remember=remember))

    async def list_learnings(self, process_id: str) -> list[Learning]:
        return await self.send(calls.list_learnings(process_id))

    async def delete_learning(self, learning_id: str) -> None:
        await self.send(calls.delete_learning(learning_id))

    # --- files -----------------------------------------------------------------------------

    async def upload_file(
        self,
        source: bytes | str | Path,
        *,
        name: str | None = None,
        agent_id: str | None = None,
        content_type: str | None = None,
    ) -> File:
        """Upload a file from a path or from bytes (give its ``name``); its id goes in ``file_ids``."""
        flow = calls.upload_file(source, name=name, agent_id=agent_id, content_type=content_type)
        return await self.drive(flow)

    async def get_file(self, file_id: str) -> File:
        return await self.send(calls.get_file(file_id))

    async def download_file(self, file_id: str) -> bytes:
        return await self.send(calls.download_file(file_id))

    async def list_agents(self) -> list[Agent]:
        """The agents the key sees."""
        return await self.send(calls.list_agents())

    # --- processes -------------------------------------------------------------------------

    def list_processes(self, agent_id: str, *, page_size: int = 100) -> AsyncIterator[Process]:
        return self.every(calls.list_processes(agent_id, limit=page_size))

    async def get_process(self, process_id: str) -> Process:
        return await self.send(calls.get_process(process_id))

    async def create_process(
        self,
        agent_id: str,
        source: str,
        *,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Process:
        return await self.send(calls.create_process(agent_id, source, name=name, settings=settings))

    async def update_process(
        self,
        process_id: str,
        *,
        source: str | None = None,
        name: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Process:
        return await self.send(calls.update_process(process_id, source=source, name=name, settings=settings))

    async def publish_process(self, process_id: str) -> ProcessVersion:
        return await self.send(calls.publish_process(process_id))

    async def process_versions(self, process_id: str) -> list[ProcessVersion]:
        return await self.send(calls.process_versions(process_id))

    # --- schedules -------------------------------------------------------------------------

    async def create_schedule(
        self,
        process_id: str,
        agent_id: str,
        *,
        name: str,
        kind: Literal["hourly", "daily", "weekly", "every", "cron"],
        timing: Mapping[str, Any],
        timezone: str = "UTC",
        inputs: Inputs = None,
        catch_up: str = "skip",
        window_s: int | None = None,
        enabled: bool = True,
    ) -> Schedule:
        """Schedule a published process; ``timing``: e.g. ``{"cron": "0 9 * * 1-5"}``, ``{"at": "07:30"}``."""
        call = calls.create_schedule(
            process_id,
            agent_id,
            name=name,
            kind=kind,
            timing=timing,
            timezone=timezone,
            inputs=inputs,
            catch_up=catch_up,
            window_s=window_s,
            enabled=enabled,
        )
        return await self.send(call)

    async def list_schedules(self, agent_id: str, process_id: str | None = None) -> list[Schedule]:
        return await self.send(calls.list_schedules(agent_id, process_id))

    async def get_schedule(self, schedule_id: str) -> Schedule:
        return await self.send(calls.get_schedule(schedule_id))

    async def update_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        return await self.send(calls.update_schedule(schedule_id, **changes))

    async def delete_schedule(self, schedule_id: str) -> None:
        await self.send(calls.delete_schedule(schedule_id))

    # --- the Test Suite --------------------------------------------------------------------

    async def add_test_cases(
        self, run_ids: Sequence[str], outputs: Sequence[str] | None = None
    ) -> list[BulkResult]:
        return await self.send(calls.add_test_cases(run_ids, outputs))

    async def list_test_cases(self, process_id: str, agent_id: str) -> list[TestCase]:
        return await self.send(calls.list_test_cases(process_id, agent_id))

    async def remove_test_case(self, test_case_id: str) -> None:
        await self.send(calls.remove_test_case(test_case_id))

    async def start_test_run(
        self, agent_id: str, process_ids: Sequence[str], stage: Stage = "Published"
    ) -> TestRun:
        return await self.send(calls.start_test_run(agent_id, process_ids, stage))

    async def get_test_run(self, test_run_id: str) -> TestRun:
        return await self.send(calls.get_test_run(test_run_id))

    async def stop_test_run(self, test_run_id: str) -> TestRun:
        return await self.send(calls.stop_test_run(test_run_id))
