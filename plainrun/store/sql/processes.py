"""Processes: content-addressed sources, the editable draft, immutable published versions, and the
version a run of a stage runs now."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from plainrun.domain import ids
from plainrun.domain.clock import utcnow
from plainrun.domain.processes import Process, ProcessVersion, Runnable
from plainrun.domain.runs import Stage
from plainrun.errors import Conflict, NotFound
from plainrun.language.names import process_key
from plainrun.store import schema as t
from plainrun.store.database import Database
from plainrun.store.sql._part import Part, param
from plainrun.store.tx import Tx

p, v, s = t.processes.c, t.process_versions.c, t.sources.c
_SOURCE = sa.select(s.text).where(s.sha256 == param(s.sha256))
_SOURCE_EXISTS = sa.select(s.sha256).where(s.sha256 == param(s.sha256))
_INSERT_SOURCE = sa.insert(t.sources)
_INSERT_PROCESS = sa.insert(t.processes)
_PROCESS = sa.select(t.processes).where(p.id == param(p.id))
_PROCESS_LOCKED = _PROCESS.with_for_update()
_UPDATE_PROCESS = sa.update(t.processes).where(p.id == param(p.id, "b_id"))
_PUBLISHED = sa.and_(v.process_id == p.id, v.version == p.published_version)
#: A process and the source hash of its published version, in one read (what a run starts from).
_PROCESS_FOR_RUN = (
    sa.select(t.processes, v.sha256.label("published_sha256"))
    .outerjoin(t.process_versions, _PUBLISHED)
    .where(p.id == param(p.id))
)
_PROCESSES_OF_AGENT = (
    sa.select(t.processes, v.sha256.label("published_sha256"))
    .outerjoin(t.process_versions, _PUBLISHED)
    .where(p.agent_id == param(p.agent_id))
    .order_by(p.id)
)
_INSERT_VERSION = sa.insert(t.process_versions)
_VERSIONS = (
    sa.select(t.process_versions).where(v.process_id == param(v.process_id)).order_by(v.version.desc())
)
_VERSION = sa.select(t.process_versions).where(
    v.process_id == param(v.process_id), v.version == param(v.version)
)
_PAGE = sa.select(t.processes).order_by(p.id.desc()).limit(sa.bindparam("limit", type_=sa.Integer))
_PAGE_OF_AGENT = _PAGE.where(p.agent_id == param(p.agent_id), p.archived == param(p.archived))
#: The process of an agent that a name means (names are unique per agent as ``process_key`` reads them).
_NAMED = _PROCESSES_OF_AGENT.where(p.name_key == param(p.name_key))
_NAME_TAKEN = sa.select(p.id).where(p.agent_id == param(p.agent_id), p.name_key == param(p.name_key))
_PAGE_OF_AGENT_BEFORE = _PAGE_OF_AGENT.where(p.id < param(p.id, "before"))
#: A process's ``updated_at``: every change of a process sets it (``update``, ``publish``).
_UPDATED_AT = sa.select(p.updated_at).where(p.id == param(p.id))
#: How many processes' reads a store remembers for starting runs (all forgotten when full).
SEEN_MAX = 4096


def changed_since(tx: Tx, seen: Mapping[str, datetime]) -> list[str]:
    """Inside the caller's transaction: the processes (of ``seen``: process id -> its ``updated_at``
    as read) that changed since, or are gone. Runs prepared from such a read are not to be written.
    Called after the runs' INSERT, whose foreign key holds the process's row until the commit: a
    change that commits first is seen here, one that comes later waits for the runs."""
    return [pid for pid, at in seen.items() if tx.scalar(_UPDATED_AT, {"id": pid}) != at]


def _process(row: dict[str, Any]) -> Process:
    return Process(**{name: row[name] for name in Process.__dataclass_fields__})


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"Another process of this agent is already named “{name}”; choose another name.",
        details=[("name", name)],
    )


def _claim_name(tx: Tx, agent_id: str, name: str, process_id: str | None = None) -> str:
    """The name's key, refused when another process of the agent has it (the unique index holds it
    across hosts; this check gives the error its words)."""
    key = process_key(name)
    taken = tx.scalar(_NAME_TAKEN, {"agent_id": agent_id, "name_key": key})
    if taken is not None and taken != process_id:
        raise _name_taken(name)
    return key


def runnable(row: dict[str, Any], stage: Stage) -> Runnable | None:
    """What a run of ``stage`` starts from, from a process row with its ``published_sha256``."""
    if stage is Stage.DRAFT:
        return Runnable(
            row["id"], row["name"], stage.value, row["draft_revision"], row["draft_sha256"], row["settings"]
        )
    if row["published_version"] is None or row["published_sha256"] is None:
        return None
    return Runnable(
        row["id"],
        row["name"],
        stage.value,
        row["published_version"],
        row["published_sha256"],
        row["settings"],
    )


class ProcessesSql(Part):
    def __init__(self, db: Database):
        super().__init__(db)
        #: What :meth:`for_run` last read of each process, for :meth:`seen_for_run`.
        self._seen: dict[str, dict[str, Any]] = {}
        self._seen_lock = threading.Lock()

    def _forget(self, tx: Tx, process_id: str) -> None:
        """A change of the process in this transaction: once it commits, starts here read it again
        (starts elsewhere find out when they write, see :func:`changed_since`)."""

        def forget() -> None:
            self._seen.pop(process_id, None)

        tx.after_commit(forget)

    @staticmethod
    def _put_source(tx: Tx, text: str) -> str:
        sha = hashlib.sha256(text.encode()).hexdigest()
        if tx.scalar(_SOURCE_EXISTS, {"sha256": sha}) is None:
            tx.run(_INSERT_SOURCE, {"sha256": sha, "text": text})
        return sha

    def source(self, sha256: str) -> str:
        with self.db.read() as tx:
            text = tx.scalar(_SOURCE, {"sha256": sha256})
        if text is None:
            raise NotFound("The process source was not found.")
        return str(text)

    def create(
        self, *, agent_id: str, name: str, source: str, description: str = "", settings: dict[str, Any]
    ) -> Process:
        now = utcnow()
        try:
            return self._create(now, agent_id, name, source, description, settings)
        except sa.exc.IntegrityError:
            raise _name_taken(name) from None

    def _create(
        self, now: Any, agent_id: str, name: str, source: str, description: str, settings: dict[str, Any]
    ) -> Process:
        with self.db.write() as tx:
            key = _claim_name(tx, agent_id, name)
            process = Process(
                id=ids.new_id(),
                agent_id=agent_id,
                name=name,
                description=description,
                draft_sha256=self._put_source(tx, source),
                draft_revision=1,
                published_version=None,
                settings=settings,
                created_at=now,
                updated_at=now,
                max_concurrent_runs=settings.get("max_concurrency"),
            )
            tx.run(_INSERT_PROCESS, {**asdict(process), "name_key": key})
        return process

    def get(self, process_id: str) -> Process | None:
        with self.db.read() as tx:
            row = tx.first(_PROCESS, {"id": process_id})
        return _process(row) if row else None

    def for_run(self, process_id: str, stage: Stage) -> tuple[Process, Runnable | None] | None:
        """A process and what a run of ``stage`` starts from now (None: the stage has no version)."""
        with self.db.read() as tx:
            row = tx.first(_PROCESS_FOR_RUN, {"id": process_id})
        if row is None:
            self._seen.pop(process_id, None)
            return None
        with self._seen_lock:
            if len(self._seen) >= SEEN_MAX:
                self._seen.clear()
            self._seen[process_id] = row
        return _process(row), runnable(row, stage)

    def seen_for_run(self, process_id: str, stage: Stage) -> tuple[Process, Runnable | None] | None:
        """What :meth:`for_run` last read of the process in this store, without a database call
        (None: not read lately). It may have changed since: a run started from it carries the
        process's ``updated_at`` as read (``NewRun.process_seen``), checked when it is written."""
        row = self._seen.get(process_id)
        return (_process(row), runnable(row, stage)) if row is not None else None

    def named(self, agent_id: str, name: str) -> Runnable | None:
        """The agent's process a child run of ``name`` runs: its published version, else its draft.

        Names compare as the language compares phrases (``/to check the vendor`` finds "check the vendor").
        """
        with self.db.read() as tx:
            row = tx.first(_NAMED, {"agent_id": agent_id, "name_key": process_key(name)})
        if row is None:
            return None
        return runnable(row, Stage.PUBLISHED if row["published_version"] is not None else Stage.DRAFT)

    def page(
        self, agent_id: str, *, before_id: str | None = None, limit: int = 100, archived: bool = False
    ) -> list[Process]:
        """An agent's processes (archived or not), newest first, after ``before_id`` (the last id of
        the page before)."""
        values = {"agent_id": agent_id, "archived": archived, "limit": limit}
        with self.db.read() as tx:
            if before_id is None:
                rows = tx.rows(_PAGE_OF_AGENT, values)
            else:
                rows = tx.rows(_PAGE_OF_AGENT_BEFORE, {**values, "before": before_id})
        return [_process(r) for r in rows]

    def update(
        self,
        process_id: str,
        *,
        source: str | None = None,
        name: str | None = None,
        description: str | None = None,
        settings: dict[str, Any] | None = None,
        archived: bool | None = None,
    ) -> Process:
        try:
            return self._update(process_id, source, name, description, settings, archived)
        except sa.exc.IntegrityError:
            raise _name_taken(name or "") from None

    def _update(
        self,
        process_id: str,
        source: str | None,
        name: str | None,
        description: str | None,
        settings: dict[str, Any] | None,
        archived: bool | None,
    ) -> Process:
        with self.db.write() as tx:
            row = tx.first(_PROCESS_LOCKED, {"id": process_id})
            if row is None:
                raise NotFound("The process was not found.")
            values: dict[str, Any] = {"updated_at": utcnow()}
            if source is not None:
                sha = self._put_source(tx, source)
                if sha != row["draft_sha256"]:
                    values.update(draft_sha256=sha, draft_revision=row["draft_revision"] + 1)
            if name is not None and name != row["name"]:
                values["name"] = name
                values["name_key"] = _claim_name(tx, row["agent_id"], name, process_id)
            if archived is not None:
                values["archived"] = archived
            if description is not None:
                values["description"] = description
            if settings is not None:
                values["settings"] = {**row["settings"], **settings}
                values["max_concurrent_runs"] = values["settings"].get("max_concurrency")
            tx.run(_UPDATE_PROCESS.values(values), {"b_id": process_id})
            self._forget(tx, process_id)
        return _process({**row, **values})

    def publish(self, process_id: str) -> ProcessVersion:
        """Publish the current draft as version n+1 (atomically; concurrent publishes get n+1, n+2).

        A draft equal to the latest version makes no version: that version comes back, ``created``
        False.
        """
        with self.db.write() as tx:
            row = tx.first(_PROCESS_LOCKED, {"id": process_id})
            if row is None:
                raise NotFound("The process was not found.")
            if row["published_version"] is not None:
                latest = tx.first(_VERSION, {"process_id": process_id, "version": row["published_version"]})
                if latest is not None and latest["sha256"] == row["draft_sha256"]:
                    return ProcessVersion(**latest, created=False)
            version = ProcessVersion(
                process_id=process_id,
                version=(row["published_version"] or 0) + 1,
                sha256=row["draft_sha256"],
                created_at=utcnow(),
            )
            tx.run(_INSERT_VERSION, asdict(version))
            published = {"published_version": version.version, "updated_at": version.created_at}
            tx.run(_UPDATE_PROCESS.values(published), {"b_id": process_id})
            self._forget(tx, process_id)
        return version

    def versions(self, process_id: str) -> list[ProcessVersion]:
        with self.db.read() as tx:
            return [ProcessVersion(**r) for r in tx.rows(_VERSIONS, {"process_id": process_id})]

    def version(self, process_id: str, version: int) -> ProcessVersion | None:
        with self.db.read() as tx:
            row = tx.first(_VERSION, {"process_id": process_id, "version": version})
        return ProcessVersion(**row) if row else None
