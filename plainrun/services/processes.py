"""Processes: one id across stages, an editable draft and immutable published versions."""

from __future__ import annotations

from typing import Any

from plainrun.domain.runs import Stage
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import Principal
from plainrun.services.compiler import ProcessInfo, inspect_source
from plainrun.store.records import Agent, Process, ProcessVersion
from plainrun.store.sql import SqlStore

#: Settings a process may carry, with their defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "on_exception": "pause",  # or "fail"
    "timeout_s": None,  # None: the service default
    "max_concurrency": None,  # at most this many runs Running at once; None: no limit
}


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown:
        raise InvalidInput("Unknown process settings.", details=[("settings", ", ".join(sorted(unknown)))])
    if settings.get("on_exception") not in (None, "pause", "fail"):
        raise InvalidInput("on_exception must be 'pause' or 'fail'.")
    timeout = settings.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise InvalidInput("timeout_s must be a positive number.")
    limit = settings.get("max_concurrency")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000
    ):
        raise InvalidInput(
            "max_concurrency must be a whole number from 1 to 100000 (or null for no limit).",
            details=[("max_concurrency", str(limit)[:100])],
        )
    return settings


class ProcessService:
    def __init__(self, store: SqlStore, *, max_source_bytes: int):
        self.store = store
        self.max_source_bytes = max_source_bytes
        self._parsed: dict[str, ProcessInfo] = {}  # by source hash: a source parses the same forever

    def inspect(self, source: str) -> ProcessInfo:
        return inspect_source(source, max_bytes=self.max_source_bytes)

    def inspect_stored(self, sha256: str) -> ProcessInfo:
        """``inspect`` of a stored source, remembered by its hash (errors are not remembered)."""
        info = self._parsed.get(sha256)
        if info is None:
            info = self.inspect(self.store.get_source(sha256))
            if len(self._parsed) >= 1024:
                self._parsed.clear()
            self._parsed[sha256] = info
        return info

    def agent(self, principal: Principal, agent_id: str) -> Agent:
        agent = self.store.get_agent(agent_id) if principal.can_see(agent_id) else None
        if agent is None:
            raise NotFound("The agent was not found.")
        return agent

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
        self.agent(principal, agent_id)
        info = self.inspect(source)
        return self.store.create_process(
            agent_id=agent_id,
            name=name or info.name,
            source=source,
            description=description,
            settings={**DEFAULT_SETTINGS, **_check_settings(settings or {})},
        )

    def get(self, principal: Principal, process_id: str, agent_id: str | None = None) -> Process:
        process = self.store.get_process(process_id)
        if (
            process is None
            or not principal.can_see(process.agent_id)
            or (agent_id is not None and agent_id != process.agent_id)
        ):
            raise NotFound("The process was not found.")
        return process

    def list(
        self, principal: Principal, agent_id: str, *, after_id: str | None = None, limit: int = 100
    ) -> list[Process]:
        self.agent(principal, agent_id)
        return self.store.list_processes(agent_id, after_id=after_id, limit=limit)

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
        return self.store.update_process(
            process_id,
            source=source,
            name=name,
            description=description,
            settings=_check_settings(settings) if settings is not None else None,
        )

    def publish(self, principal: Principal, process_id: str) -> ProcessVersion:
        """Publish the draft as version n+1; a draft with syntax errors is refused with every error."""
        process = self.get(principal, process_id)
        self.inspect_stored(process.draft_sha256)
        return self.store.publish(process_id)

    def versions(self, principal: Principal, process_id: str) -> list[ProcessVersion]:
        self.get(principal, process_id)
        return self.store.list_versions(process_id)

    def version(self, principal: Principal, process_id: str, version: int) -> ProcessVersion:
        self.get(principal, process_id)
        found = self.store.get_version(process_id, version)
        if found is None:
            raise NotFound("The process version was not found.")
        return found

    def for_run(
        self, principal: Principal, process_id: str, agent_id: str, stage: Stage
    ) -> tuple[Process, int, str]:
        """The process and the (version, sha256) a run of this stage would run now, in one read.

        A draft with syntax errors is refused before it runs, with every error.
        """
        found = self.store.get_process_for_run(process_id)
        if found is None or not principal.can_see(found[0].agent_id) or found[0].agent_id != agent_id:
            raise NotFound("The process was not found.")
        process, published_sha256 = found
        if stage is Stage.DRAFT:
            self.inspect_stored(process.draft_sha256)
            return process, process.draft_revision, process.draft_sha256
        if process.published_version is None or published_sha256 is None:
            raise InvalidInput("The process has no published version; publish it or run the Draft stage.")
        return process, process.published_version, published_sha256
