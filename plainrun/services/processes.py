"""Processes: one id across stages, an editable draft and immutable published versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plainrun.domain.pages import Page, Pager
from plainrun.domain.processes import (
    DEFAULT_SETTINGS,
    MAX_TIMEOUT_S,
    MAX_VERSION,
    Process,
    ProcessVersion,
    Runnable,
    check_settings,
)
from plainrun.domain.runs import Stage
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import Principal
from plainrun.services.agents import AgentService
from plainrun.services.compiler import ProcessInfo, inspect_source
from plainrun.store import Store

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Draft:
    """A process with its draft's text and the inputs the draft asks for."""

    process: Process
    source: str
    inputs: list[str]


class ProcessService:
    def __init__(
        self,
        store: Store,
        agents: AgentService,
        *,
        secret: bytes,
        max_source_bytes: int,
        max_timeout_s: float = MAX_TIMEOUT_S,
    ):
        self.store = store
        self.agents = agents
        self.max_source_bytes = max_source_bytes
        self.max_timeout_s = max_timeout_s
        self._pages = Pager(secret, "processes")
        self._parsed: dict[str, ProcessInfo] = {}  # by source hash: a source parses the same forever

    def inspect(self, source: str) -> ProcessInfo:
        return inspect_source(source, max_bytes=self.max_source_bytes)

    def inspect_stored(self, sha256: str) -> ProcessInfo:
        """``inspect`` of a stored source, remembered by its hash (errors are not remembered)."""
        info = self._parsed.get(sha256)
        if info is None:
            info = self.inspect(self.store.processes.source(sha256))
            if len(self._parsed) >= 1024:
                self._parsed.clear()
            self._parsed[sha256] = info
        return info

    def create(
        self,
        principal: Principal,
        *,
        agent_id: str,
        source: str,
        name: str | None = None,
        description: str = "",
        settings: dict[str, Any] | None = None,
    ) -> Process:
        self.agents.get(principal, agent_id)
        info = self.inspect(source)
        return self.store.processes.create(
            agent_id=agent_id,
            name=name or info.name,
            source=source,
            description=description,
            settings={**DEFAULT_SETTINGS, **self._checked(settings or {})},
        )

    def get(self, principal: Principal, process_id: str, agent_id: str | None = None) -> Process:
        process = self.store.processes.get(process_id)
        if (
            process is None
            or not principal.can_see(process.agent_id)
            or (agent_id is not None and agent_id != process.agent_id)
        ):
            raise NotFound("The process was not found.")
        return process

    def draft(self, principal: Principal, process_id: str, agent_id: str | None = None) -> Draft:
        """A process with its draft's text and inputs."""
        process = self.get(principal, process_id, agent_id)
        return self.as_draft(process)

    def as_draft(self, process: Process) -> Draft:
        source = self.store.processes.source(process.draft_sha256)
        return Draft(process, source, self.inspect_stored(process.draft_sha256).inputs)

    def page(
        self,
        principal: Principal,
        agent_id: str,
        *,
        limit: int = MAX_PAGE,
        continuation_token: str | None = None,
    ) -> Page[Process]:
        """An agent's processes, newest first, in keyset pages."""
        self.agents.get(principal, agent_id)
        query = {"a": agent_id}
        before = self._pages.position(continuation_token, query)
        rows = self.store.processes.page(agent_id, before_id=before, limit=limit + 1)
        return self._pages.page(rows, limit, query, key=lambda p: p.id)

    def update_draft(
        self,
        principal: Principal,
        process_id: str,
        *,
        source: str | None = None,
        name: str | None = None,
        description: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Process:
        self.get(principal, process_id)
        if source is not None:
            self.inspect(source)
        return self.store.processes.update(
            process_id,
            source=source,
            name=name,
            description=description,
            settings=self._checked(settings) if settings is not None else None,
        )

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        return check_settings(settings, max_timeout_s=self.max_timeout_s)

    def publish(self, principal: Principal, process_id: str) -> ProcessVersion:
        """Publish the draft as version n+1; a draft with syntax errors is refused with every error."""
        process = self.get(principal, process_id)
        self.inspect_stored(process.draft_sha256)
        return self.store.processes.publish(process_id)

    def versions(self, principal: Principal, process_id: str) -> list[ProcessVersion]:
        self.get(principal, process_id)
        return self.store.processes.versions(process_id)

    def version(self, principal: Principal, process_id: str, version: int) -> tuple[ProcessVersion, str]:
        """A published version and its text."""
        self.get(principal, process_id)
        if isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
            raise InvalidInput(
                f"A version number is a whole number from 1 to {MAX_VERSION}.",
                details=[("version", str(version)[:30])],
            )
        found = self.store.processes.version(process_id, version)
        if found is None:
            raise NotFound("The process version was not found.")
        return found, self.store.processes.source(found.sha256)

    def inputs_of(self, principal: Principal, process: Process, stage: Stage) -> list[str]:
        """The inputs a run of this stage asks for now."""
        _, runnable = self.for_run(principal, process.id, process.agent_id, stage)
        return self.inspect_stored(runnable.sha256).inputs

    def for_run(
        self, principal: Principal, process_id: str, agent_id: str, stage: Stage
    ) -> tuple[Process, Runnable]:
        """The process and what a run of this stage would run now, in one read.

        A draft with syntax errors is refused before it runs, with every error.
        """
        found = self.store.processes.for_run(process_id, stage)
        if found is None or not principal.can_see(found[0].agent_id) or found[0].agent_id != agent_id:
            raise NotFound("The process was not found.")
        process, runnable = found
        if runnable is None:
            raise InvalidInput("The process has no published version; publish it or run the Draft stage.")
        if stage is Stage.DRAFT:
            self.inspect_stored(runnable.sha256)
        return process, runnable
