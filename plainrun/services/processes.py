"""Processes: one id across stages, an editable draft and immutable published versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plainrun.domain.pages import Page, Pager
from plainrun.domain.processes import (
    DEFAULT_SETTINGS,
    MAX_TIMEOUT_S,
    MAX_VERSION,
    DiffLine,
    Process,
    ProcessVersion,
    Runnable,
    check_name,
    check_settings,
    compare_sources,
)
from plainrun.domain.runs import Stage
from plainrun.errors import InvalidInput, NotFound
from plainrun.services.access import Principal
from plainrun.services.agents import AgentService
from plainrun.services.compiler import (
    MAX_NAME,
    ProcessInfo,
    ProcessSourceInvalid,
    inspect_source,
    vocabulary_of,
)
from plainrun.store import Store

if TYPE_CHECKING:
    from plainrun.language.vocabulary import Vocabulary

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

    def check(self, source: str) -> list[tuple[str, str]]:
        """Every syntax error of a text (``("line L, column C", message)``); none when it parses."""
        try:
            self.inspect(source)
        except ProcessSourceInvalid as exc:
            return [(str(where), str(message)) for where, message in exc.details]
        return []

    def vocabulary(self, source: str, line: int) -> Vocabulary:
        """The phrases a text can call and the facts in scope on ``line``, with or without errors."""
        return vocabulary_of(source, line, max_bytes=self.max_source_bytes)

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
            name=check_name(name, MAX_NAME) if name else info.name,
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
        archived: bool = False,
    ) -> Page[Process]:
        """An agent's processes (the archived ones, or the others), newest first, in keyset pages."""
        self.agents.get(principal, agent_id)
        query: dict[str, object] = {"a": agent_id, "archived": archived}
        before = self._pages.position(continuation_token, query)
        rows = self.store.processes.page(agent_id, before_id=before, limit=limit + 1, archived=archived)
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
        archived: bool | None = None,
    ) -> Process:
        """Edit the draft. A new text whose first line names the process anew renames it too, unless
        the process was given a name of its own (its name is not its text's first line)."""
        process = self.get(principal, process_id)
        if name is not None:
            name = check_name(name, MAX_NAME)
        if source is not None:
            info = self.inspect(source)
            try:
                followed = self.inspect_stored(process.draft_sha256).name
            except ProcessSourceInvalid:  # a stored draft that no longer parses names nothing
                followed = None
            if name is None and process.name == followed and info.name != followed:
                name = info.name
        return self.store.processes.update(
            process_id,
            source=source,
            name=name,
            description=description,
            settings=self._checked(settings) if settings is not None else None,
            archived=archived,
        )

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        return check_settings(settings, max_timeout_s=self.max_timeout_s)

    def publish(self, principal: Principal, process_id: str) -> ProcessVersion:
        """Publish the draft as version n+1; a draft with syntax errors is refused with every error.

        A draft equal to the latest version makes no version (the result's ``created`` is False).
        """
        process = self.get(principal, process_id)
        self.inspect_stored(process.draft_sha256)
        return self.store.processes.publish(process_id)

    def text_of(self, principal: Principal, process_id: str, version: int | None) -> str:
        """The text of a published version, or of the draft (``version`` None)."""
        if version is None:
            return self.draft(principal, process_id).source
        return self.version(principal, process_id, version)[1]

    def compare(
        self, principal: Principal, process_id: str, old: int | None, new: int | None
    ) -> list[DiffLine]:
        """Two versions' texts line by line (``None``: the draft)."""
        return compare_sources(
            self.text_of(principal, process_id, old), self.text_of(principal, process_id, new)
        )

    def restore(self, principal: Principal, process_id: str, version: int) -> Process:
        """Put a published version's text back into the draft (the versions are kept)."""
        _, source = self.version(principal, process_id, version)
        return self.update_draft(principal, process_id, source=source)

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
        return self._runnable(principal, self.store.processes.for_run(process_id, stage), agent_id, stage)

    def seen_for_run(
        self, principal: Principal, process_id: str, agent_id: str, stage: Stage
    ) -> tuple[Process, Runnable] | None:
        """:meth:`for_run` from the store's last read of the process, with no database call (None:
        not read lately, or a draft, whose syntax is checked at every start). What a run is started
        from here is checked when the run is written (``NewRun.process_seen``)."""
        found = self.store.processes.seen_for_run(process_id, stage) if stage is Stage.PUBLISHED else None
        return self._runnable(principal, found, agent_id, stage) if found is not None else None

    def _runnable(
        self,
        principal: Principal,
        found: tuple[Process, Runnable | None] | None,
        agent_id: str,
        stage: Stage,
    ) -> tuple[Process, Runnable]:
        if found is None or not principal.can_see(found[0].agent_id) or found[0].agent_id != agent_id:
            raise NotFound("The process was not found.")
        process, runnable = found
        if runnable is None:
            raise InvalidInput("The process has no published version; publish it or run the Draft stage.")
        if stage is Stage.DRAFT:
            self.inspect_stored(runnable.sha256)
        return process, runnable
