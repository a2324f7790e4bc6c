"""The store: every domain operation on the database, behind one class per backend.

``SqlStore`` holds what SQLite and PostgreSQL share (SQLAlchemy Core); ``SqliteStore`` and
``PostgresStore`` add what differs: how a write transaction begins, how workers claim runs and how
a new run wakes them. Driver errors are translated to ``StoreError`` here, at the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from plainrun import ids
from plainrun.domain.runs import FINAL_STATES, RunState, Stage, Trigger, can_move
from plainrun.errors import Conflict, NotFound, PlainrunError, StoreError, StoreUnavailable
from plainrun.store import schema as t
from plainrun.store.records import (
    Agent,
    ApiKey,
    FileRecord,
    NewRun,
    Outcome,
    Process,
    ProcessVersion,
    Run,
    RunEvent,
)


def json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _run(row: RowMapping) -> Run:
    return Run(
        id=row["id"],
        agent_id=row["agent_id"],
        process_id=row["process_id"],
        name=row["name"],
        stage=Stage(row["stage"]),
        version=row["version"],
        sha256=row["sha256"],
        state=RunState(row["state"]),
        inputs=row["inputs"],
        file_ids=row["file_ids"],
        outputs=row["outputs"],
        error=row["error"],
        trigger=Trigger(row["trigger"]),
        trigger_ref=row["trigger_ref"],
        rerun_of=row["rerun_of"],
        parent_run_id=row["parent_run_id"],
        archived=bool(row["archived"]),
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        timeout_s=row["timeout_s"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
        cancel_requested=bool(row["cancel_requested"]),
        exec_state=row["exec_state"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def _process(row: RowMapping) -> Process:
    return Process(**{k: row[k] for k in Process.__slots__})  # type: ignore[attr-defined]


def _event(row: RowMapping) -> RunEvent:
    return RunEvent(
        id=row["id"],
        run_id=row["run_id"],
        at=row["at"],
        kind=row["kind"],
        from_state=RunState(row["from_state"]) if row["from_state"] else None,
        to_state=RunState(row["to_state"]) if row["to_state"] else None,
        attempt=row["attempt"],
        data=row["data"],
    )


def _record(cls: type, row: RowMapping) -> Any:
    return cls(**{k: row[k] for k in cls.__slots__})


# Statements on hot paths, built once: building a statement costs more than running it.
_INSERT_RUNS = sa.insert(t.runs)
_INSERT_EVENTS = sa.insert(t.run_events)
_GET_RUN = sa.select(t.runs).where(t.runs.c.id == sa.bindparam("run_id"))
_GET_PROCESS_FOR_RUN = (
    sa.select(t.processes, t.process_versions.c.sha256.label("published_sha256"))
    .outerjoin(
        t.process_versions,
        sa.and_(
            t.process_versions.c.process_id == t.processes.c.id,
            t.process_versions.c.version == t.processes.c.published_version,
        ),
    )
    .where(t.processes.c.id == sa.bindparam("process_id"))
)


# Processes with a concurrency limit that have pending runs (both through partial indexes).
_LIMITED_PENDING = (
    sa.select(t.processes.c.id, t.processes.c.max_concurrent_runs)
    .where(t.processes.c.max_concurrent_runs.is_not(None))
    .where(
        sa.exists().where(t.runs.c.process_id == t.processes.c.id, t.runs.c.state == RunState.PENDING.value)
    )
    .order_by(t.processes.c.id)
)


@functools.cache
def _finish_statement(outputs: bool, error: bool, final: bool) -> sa.Update:
    """The fenced outcome update; outputs, error and finished_at are set only when given."""
    c = t.runs.c
    values: dict[str, Any] = {
        "state": sa.bindparam("b_state", type_=c.state.type),
        "lease_owner": None,
        "lease_expires_at": None,
        "exec_state": sa.bindparam("b_exec_state", type_=c.exec_state.type),
    }
    if outputs:
        values["outputs"] = sa.bindparam("b_outputs", type_=c.outputs.type)
    if error:
        values["error"] = sa.bindparam("b_error", type_=c.error.type)
    if final:
        values["finished_at"] = sa.bindparam("b_now", type_=c.finished_at.type)
    return (
        sa.update(t.runs)
        .where(
            c.id == sa.bindparam("b_id"),
            c.attempt == sa.bindparam("b_attempt"),
            c.state == RunState.RUNNING.value,
        )
        .values(values)
    )


def claim_events(claimed: Sequence[Mapping[str, Any]], worker_id: str, now: datetime) -> list[dict[str, Any]]:
    """The Pending -> Running events of runs a worker just claimed."""
    return [
        {
            "run_id": r["id"],
            "at": now,
            "kind": "state",
            "from_state": RunState.PENDING.value,
            "to_state": RunState.RUNNING.value,
            "attempt": r["attempt"],
            "data": {"worker": worker_id},
        }
        for r in claimed
    ]


def pending_row(new: NewRun) -> dict[str, Any]:
    """The row of a run that was just made: Pending, attempt 0, nothing run yet."""
    return {
        **{k: getattr(new, k) for k in NewRun.__slots__},  # type: ignore[attr-defined]
        "stage": new.stage.value,
        "trigger": new.trigger.value,
        "state": RunState.PENDING.value,
        "archived": False,
        "attempt": 0,
        "cancel_requested": False,
        "outputs": None,
        "error": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "started_at": None,
        "finished_at": None,
    }


def insert_pending_runs(
    conn: Connection, rows: list[dict[str, Any]], event_data: dict[str, Any] | None = None
) -> None:
    """Insert runs made by ``pending_row`` with their ``created`` events, inside the caller's transaction."""
    conn.execute(_INSERT_RUNS, rows)
    conn.execute(_INSERT_EVENTS, created_events(rows, event_data))


def created_events(
    rows: Sequence[Mapping[str, Any]], event_data: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The ``created`` events of runs made by ``pending_row``."""
    return [
        {
            "run_id": r["id"],
            "at": r["created_at"],
            "kind": "created",
            "from_state": None,
            "to_state": RunState.PENDING.value,
            "attempt": 0,
            "data": {"trigger": r["trigger"], **(event_data or {})},
        }
        for r in rows
    ]


class WouldBlock(Exception):
    """Raised inside :meth:`SqlStore.no_waiting` by a call that would have to wait for the database."""


async def call_store(store: SqlStore, fn: Callable[..., Any], *args: Any, executor: Any = None) -> Any:
    """``fn(*args)`` right here on the event loop when the store can answer without waiting (an
    embedded database whose write lock is free: no thread hop, whose wake-up costs more than the
    call), else in a thread (``executor``, or asyncio's default)."""
    if store.inline_ok:
        try:
            with store.no_waiting():
                return fn(*args)
        except WouldBlock:
            pass
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


class LoopGroupCommit:
    """Runs started on one event loop, written together: those that come during one turn of the
    loop share a transaction, made right there when the write lock is free (``call_store``). When
    it is not, one thread waits for it and writes them, while the next turns' runs gather for the
    transaction after. Where calls may not be made on the loop (``inline_ok`` false), each batch
    is written in a thread.
    """

    def __init__(self, store: SqlStore, executor: Any = None):
        self.store = store
        self.executor = executor
        self._batch: list[tuple[list[NewRun], asyncio.Future[list[Run]]]] = []
        self._writing = False  # a batch is being written in a thread

    async def create_runs(self, new_runs: list[NewRun]) -> list[Run]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Run]] = loop.create_future()
        if not self._batch and not self._writing:
            loop.call_soon(self._flush)
        self._batch.append((new_runs, future))
        return await future

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if not batch:
            return
        groups = [runs for runs, _ in batch]
        if self.store.inline_ok:
            try:
                with self.store.no_waiting():  # all or nothing here; a refusal is sorted out below
                    results = self.store.create_run_groups(groups, split=False)
            except Exception:  # the lock is taken, or a caller's rows were refused
                pass
            else:
                _settle(batch, results)
                return
        self._writing = True
        loop = asyncio.get_running_loop()
        written = loop.run_in_executor(self.executor, self.store.create_run_groups, groups)
        written.add_done_callback(lambda done: self._written(batch, done))

    def _written(self, batch: list[tuple[list[NewRun], asyncio.Future[list[Run]]]], done: Any) -> None:
        self._writing = False
        exc = done.exception()
        _settle(batch, [exc] * len(batch) if exc is not None else done.result())
        if self._batch:
            self._flush()


def _settle(batch: list[tuple[list[NewRun], asyncio.Future[list[Run]]]], results: list[Any]) -> None:
    for (_, future), result in zip(batch, results, strict=True):
        if future.done():  # its caller went away
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class _Pending:
    """One caller's runs waiting in a group commit."""

    __slots__ = ("done", "error", "rows")

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows
        self.done = False
        self.error: PlainrunError | None = None


class SqlStore:
    """Domain operations over one database. Thread-safe; every method is one transaction."""

    dialect = ""
    #: Whether a call may be made on an event loop inside :meth:`no_waiting` (see ``call_store``).
    inline_ok = False

    def __init__(self, url: str):
        self.url = url
        #: Called (with no argument, from the committing thread) whenever new runs become pending.
        self.new_run_listeners: list[Callable[[], None]] = []
        #: Called with a run id whenever a running run is asked to cancel.
        self.cancel_listeners: list[Callable[[str], None]] = []
        self._writer, self._reader = self._make_engines(url)
        self._group: list[_Pending] = []
        self._group_lock = threading.Lock()
        self._group_leader = threading.Lock()

    # --- the backend's hooks -------------------------------------------------------------

    def _make_engines(self, url: str) -> tuple[Engine, Engine]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _claim_query(self, limit: int) -> sa.Select[Any]:
        return (
            sa.select(t.runs.c.id)
            .where(t.runs.c.state == RunState.PENDING.value)
            .order_by(t.runs.c.id)
            .limit(limit)
        )

    def notify_new_runs(self, conn: Connection) -> None:
        """Called inside the transaction that made runs pending: wake idle workers once it commits.

        In-process listeners (the worker inside ``plainrun serve``) are called after the commit;
        the PostgreSQL backend also sends a NOTIFY for workers in other processes.
        """
        conn.info["after_commit"].append(self._fire_new_runs)

    def _fire_new_runs(self) -> None:
        for listener in list(self.new_run_listeners):
            listener()

    # --- plumbing --------------------------------------------------------------------------

    @staticmethod
    @contextlib.contextmanager
    def _translated() -> Iterator[None]:
        """Driver errors become the store's own, here at its edge."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            raise StoreUnavailable(f"The database is unavailable: {exc.orig}") from exc
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"The database refused the operation: {type(exc.orig).__name__}") from exc

    def no_waiting(self) -> contextlib.AbstractContextManager[None]:
        """Calls in this block raise :class:`WouldBlock` rather than wait (where ``inline_ok``)."""
        raise WouldBlock()

    def _writers_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held around each write transaction, once the writer connection is checked out: where a
        backend has one writer at a time across processes, they queue here (see SQLite's)."""
        return contextlib.nullcontext()

    def _not_waiting(self) -> bool:
        """Whether this thread is inside :meth:`no_waiting`."""
        return False

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; callbacks queued on ``conn.info["after_commit"]`` run after it."""
        if self._not_waiting():
            raise WouldBlock()  # the pool's writer may be another thread's: only the hot paths go inline
        after: list[Callable[[], None]] = []
        with self._translated(), self._writer.connect() as conn, self._writers_lock(), conn.begin():
            conn.info["after_commit"] = after
            yield conn
        for callback in after:
            callback()

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        if self._not_waiting():
            raise WouldBlock()  # the reader pool may be empty for a while: only the hot reads go inline
        with self._translated(), self._reader.connect() as conn:
            yield conn

    def create_schema(self) -> None:
        """Create the schema by migrating to the newest revision."""
        from plainrun.store.migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    def ping(self) -> bool:
        try:
            with self.read() as conn:
                conn.execute(sa.text("SELECT 1"))
        except StoreError:
            return False
        return True

    # --- installation ------------------------------------------------------------------------

    def installation_secret(self) -> bytes:
        with self.read() as conn:
            value = conn.scalar(sa.select(t.installation.c.value).where(t.installation.c.key == "secret"))
        if value is None:
            with self.write() as conn:
                value = conn.scalar(sa.select(t.installation.c.value).where(t.installation.c.key == "secret"))
                if value is None:
                    value = secrets.token_hex(32)
                    conn.execute(sa.insert(t.installation).values(key="secret", value=value))
        return bytes.fromhex(value)

    # --- agents ------------------------------------------------------------------------------

    def create_agent(self, name: str, agent_id: str | None = None) -> Agent:
        agent = Agent(id=agent_id or ids.new_id(), name=name, created_at=utcnow())
        with self.write() as conn:
            conn.execute(sa.insert(t.agents).values(asdict(agent)))
        return agent

    def get_agent(self, agent_id: str) -> Agent | None:
        with self.read() as conn:
            row = conn.execute(sa.select(t.agents).where(t.agents.c.id == agent_id)).mappings().first()
        return _record(Agent, row) if row else None

    def list_agents(self) -> list[Agent]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.agents).order_by(t.agents.c.id)).mappings().all()
        return [_record(Agent, r) for r in rows]

    # --- API keys ----------------------------------------------------------------------------

    def create_api_key(self, *, agent_id: str | None, name: str, prefix: str, key_hash: str) -> ApiKey:
        key = ApiKey(
            id=ids.new_id(), agent_id=agent_id, name=name, prefix=prefix, created_at=utcnow(), revoked_at=None
        )
        with self.write() as conn:
            conn.execute(sa.insert(t.api_keys).values(**asdict(key), key_hash=key_hash))
        return key

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        with self.read() as conn:
            row = (
                conn.execute(
                    sa.select(t.api_keys).where(
                        t.api_keys.c.key_hash == key_hash, t.api_keys.c.revoked_at.is_(None)
                    )
                )
                .mappings()
                .first()
            )
        return _record(ApiKey, row) if row else None

    def list_api_keys(self) -> list[ApiKey]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.api_keys).order_by(t.api_keys.c.id)).mappings().all()
        return [_record(ApiKey, r) for r in rows]

    def revoke_api_key(self, key_id: str) -> bool:
        with self.write() as conn:
            result = conn.execute(
                sa.update(t.api_keys)
                .where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return result.rowcount == 1

    # --- sources and processes ---------------------------------------------------------------

    @staticmethod
    def _put_source(conn: Connection, text: str) -> str:
        sha = hashlib.sha256(text.encode()).hexdigest()
        exists = conn.scalar(sa.select(t.sources.c.sha256).where(t.sources.c.sha256 == sha))
        if exists is None:
            conn.execute(sa.insert(t.sources).values(sha256=sha, text=text))
        return sha

    def get_source(self, sha256: str) -> str:
        with self.read() as conn:
            text = conn.scalar(sa.select(t.sources.c.text).where(t.sources.c.sha256 == sha256))
        if text is None:
            raise NotFound("The process source was not found.")
        return text

    def create_process(
        self, *, agent_id: str, name: str, source: str, description: str = "", settings: dict[str, Any]
    ) -> Process:
        now = utcnow()
        with self.write() as conn:
            sha = self._put_source(conn, source)
            values = dict(
                id=ids.new_id(),
                agent_id=agent_id,
                name=name,
                description=description,
                draft_sha256=sha,
                draft_revision=1,
                published_version=None,
                settings=settings,
                created_at=now,
                updated_at=now,
                max_concurrent_runs=settings.get("max_concurrency"),
            )
            conn.execute(sa.insert(t.processes).values(values))
        return Process(**values)  # type: ignore[arg-type]

    def get_process(self, process_id: str) -> Process | None:
        with self.read() as conn:
            row = (
                conn.execute(sa.select(t.processes).where(t.processes.c.id == process_id)).mappings().first()
            )
        return _process(row) if row else None

    def get_process_for_run(self, process_id: str) -> tuple[Process, str | None] | None:
        """A process and the source hash of its published version (None if unpublished), in one read."""
        with self.read() as conn:
            row = conn.execute(_GET_PROCESS_FOR_RUN, {"process_id": process_id}).mappings().first()
        return (_process(row), row["published_sha256"]) if row else None

    def list_processes(
        self, agent_id: str | None, *, after_id: str | None = None, limit: int = 100
    ) -> list[Process]:
        query = sa.select(t.processes).order_by(t.processes.c.id.desc()).limit(limit)
        if agent_id is not None:
            query = query.where(t.processes.c.agent_id == agent_id)
        if after_id is not None:
            query = query.where(t.processes.c.id < after_id)
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_process(r) for r in rows]

    def update_process(
        self,
        process_id: str,
        *,
        source: str | None = None,
        name: str | None = None,
        description: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Process:
        with self.write() as conn:
            row = (
                conn.execute(sa.select(t.processes).where(t.processes.c.id == process_id)).mappings().first()
            )
            if row is None:
                raise NotFound("The process was not found.")
            values: dict[str, Any] = {"updated_at": utcnow()}
            if source is not None:
                sha = self._put_source(conn, source)
                if sha != row["draft_sha256"]:
                    values.update(draft_sha256=sha, draft_revision=row["draft_revision"] + 1)
            if name is not None:
                values["name"] = name
            if description is not None:
                values["description"] = description
            if settings is not None:
                values["settings"] = {**row["settings"], **settings}
                values["max_concurrent_runs"] = values["settings"].get("max_concurrency")
            conn.execute(sa.update(t.processes).where(t.processes.c.id == process_id).values(values))
            return _process({**row, **values})  # type: ignore[arg-type]

    def publish(self, process_id: str) -> ProcessVersion:
        """Publish the current draft as version n+1 (atomically; concurrent publishes get n+1, n+2)."""
        with self.write() as conn:
            row = (
                conn.execute(
                    self._lock_for_update(sa.select(t.processes).where(t.processes.c.id == process_id))
                )
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("The process was not found.")
            version = ProcessVersion(
                process_id=process_id,
                version=(row["published_version"] or 0) + 1,
                sha256=row["draft_sha256"],
                created_at=utcnow(),
            )
            conn.execute(sa.insert(t.process_versions).values(asdict(version)))
            conn.execute(
                sa.update(t.processes)
                .where(t.processes.c.id == process_id)
                .values(published_version=version.version, updated_at=version.created_at)
            )
        return version

    def _lock_for_update(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query

    def list_versions(self, process_id: str) -> list[ProcessVersion]:
        with self.read() as conn:
            rows = (
                conn.execute(
                    sa.select(t.process_versions)
                    .where(t.process_versions.c.process_id == process_id)
                    .order_by(t.process_versions.c.version.desc())
                )
                .mappings()
                .all()
            )
        return [_record(ProcessVersion, r) for r in rows]

    def get_version(self, process_id: str, version: int) -> ProcessVersion | None:
        with self.read() as conn:
            row = (
                conn.execute(
                    sa.select(t.process_versions).where(
                        t.process_versions.c.process_id == process_id, t.process_versions.c.version == version
                    )
                )
                .mappings()
                .first()
            )
        return _record(ProcessVersion, row) if row else None

    # --- files -------------------------------------------------------------------------------

    def create_file(self, record: FileRecord) -> FileRecord:
        with self.write() as conn:
            conn.execute(sa.insert(t.files).values(asdict(record)))
        return record

    def get_files(self, file_ids: Sequence[str]) -> dict[str, FileRecord]:
        if not file_ids:
            return {}
        with self.read() as conn:
            rows = conn.execute(sa.select(t.files).where(t.files.c.id.in_(list(file_ids)))).mappings().all()
        return {r["id"]: _record(FileRecord, r) for r in rows}

    def get_file(self, file_id: str) -> FileRecord | None:
        return self.get_files([file_id]).get(file_id)

    def mark_file_ready(self, file_id: str, *, size: int, sha256: str) -> FileRecord:
        with self.write() as conn:
            conn.execute(
                sa.update(t.files).where(t.files.c.id == file_id).values(ready=True, size=size, sha256=sha256)
            )
            row = conn.execute(sa.select(t.files).where(t.files.c.id == file_id)).mappings().first()
        if row is None:
            raise NotFound("The file was not found.")
        return _record(FileRecord, row)

    # --- runs --------------------------------------------------------------------------------

    def create_runs(self, new_runs: Sequence[NewRun]) -> list[Run]:
        """Insert runs (state Pending) with their ``created`` events.

        Group commit: callers arriving while another caller's transaction is being written are
        written together in the next one, so concurrent starts share a commit (and its fsync).
        """
        rows = [pending_row(n) for n in new_runs]
        if self._not_waiting():  # on an event loop: this caller writes now or not at all
            self._insert_runs(rows)
            return [_run(r) for r in rows]  # type: ignore[arg-type]
        mine = _Pending(rows)
        with self._group_lock:
            self._group.append(mine)
        with self._group_leader:
            if not mine.done:
                with self._group_lock:
                    group, self._group = self._group, []
                self._insert_group(group)
        if mine.error is not None:
            raise mine.error
        return [_run(r) for r in rows]  # type: ignore[arg-type]

    def create_run_groups(
        self, groups: Sequence[Sequence[NewRun]], *, split: bool = True
    ) -> list[list[Run] | PlainrunError]:
        """Several callers' runs in one transaction; should it fail, each caller's in one of its
        own (with ``split=False``, the error is raised), so that one caller's refused rows fail
        that caller only. Each caller's runs, or the error that refused them."""
        pending = [_Pending([pending_row(n) for n in group]) for group in groups]
        if split:
            self._insert_group(pending)
        else:
            self._insert_runs([r for p in pending for r in p.rows])
        return [p.error if p.error is not None else [_run(r) for r in p.rows] for p in pending]  # type: ignore[misc]

    def _insert_group(self, group: list[_Pending]) -> None:
        try:
            self._insert_runs([r for p in group for r in p.rows])
        except PlainrunError as exc:
            if len(group) == 1:
                group[0].error = exc
            else:  # one caller's rows must not fail the others': write each on its own
                for pending in group:
                    self._insert_group([pending])
                return
        for pending in group:
            pending.done = True

    def _insert_runs(self, rows: list[dict[str, Any]]) -> None:
        with self.write() as conn:
            insert_pending_runs(conn, rows)
            self.notify_new_runs(conn)

    def get_run(self, run_id: str) -> Run | None:
        with self.read() as conn:
            row = conn.execute(_GET_RUN, {"run_id": run_id}).mappings().first()
        return _run(row) if row else None

    def get_runs(self, run_ids: Iterable[str]) -> dict[str, Run]:
        run_ids = list(run_ids)
        if not run_ids:
            return {}
        with self.read() as conn:
            rows = conn.execute(sa.select(t.runs).where(t.runs.c.id.in_(run_ids))).mappings().all()
        return {r["id"]: _run(r) for r in rows}

    def list_runs(
        self,
        process_id: str,
        *,
        stage: Stage | None = None,
        archived: bool | None = False,
        states: Sequence[RunState] | None = None,
        before_id: str | None = None,
        limit: int = 10,
    ) -> list[Run]:
        """Runs of a process, newest first; ``before_id`` continues after the last row of a page."""
        query = sa.select(t.runs).where(t.runs.c.process_id == process_id)
        if stage is not None:
            query = query.where(t.runs.c.stage == stage.value)
        if archived is not None:
            query = query.where(t.runs.c.archived == archived)
        if states:
            query = query.where(t.runs.c.state.in_([s.value for s in states]))
        if before_id is not None:
            query = query.where(t.runs.c.id < before_id)
        query = query.order_by(t.runs.c.id.desc()).limit(limit)
        with self.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_run(r) for r in rows]

    def list_run_events(self, run_id: str) -> list[RunEvent]:
        with self.read() as conn:
            rows = (
                conn.execute(
                    sa.select(t.run_events).where(t.run_events.c.run_id == run_id).order_by(t.run_events.c.id)
                )
                .mappings()
                .all()
            )
        return [_event(r) for r in rows]

    def set_archived(self, run_ids: Sequence[str], archived: bool) -> list[str]:
        """Archive or unarchive runs; returns the ids changed. Execution is not touched."""
        if not run_ids:
            return []
        now = utcnow()
        with self.write() as conn:
            changed = conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.id.in_(list(run_ids)), t.runs.c.archived != archived)
                .values(archived=archived)
                .returning(t.runs.c.id, t.runs.c.attempt)
            ).all()
            if changed:
                conn.execute(
                    sa.insert(t.run_events),
                    [
                        {
                            "run_id": rid,
                            "at": now,
                            "kind": "archived" if archived else "unarchived",
                            "from_state": None,
                            "to_state": None,
                            "attempt": attempt,
                            "data": None,
                        }
                        for rid, attempt in changed
                    ],
                )
        return [rid for rid, _ in changed]

    # --- execution: claims, leases, outcomes --------------------------------------------------

    def claim_runs(self, worker_id: str, *, limit: int, lease_s: float) -> list[Run]:
        """Move up to ``limit`` pending runs to Running under this worker's lease, oldest first.

        A process with a concurrency limit (``max_concurrent_runs``) never has more runs Running
        than its limit: its runs are claimed only into its free slots, counted under a lock on the
        process's row (PostgreSQL; SQLite has one writer), and the other claims skip them.
        """
        now = utcnow()
        with self.write() as conn:
            limited = conn.execute(_LIMITED_PENDING).all()
            if limited:
                claimed = self._claim_limited(conn, limited, worker_id, now, lease_s, limit)
            else:
                claimed = self._claim(conn, self._claim_query(limit), worker_id, now, lease_s)
            if claimed:
                conn.execute(_INSERT_EVENTS, claim_events(claimed, worker_id, now))
        return sorted((_run(r) for r in claimed), key=lambda r: r.id)

    def _claim(
        self, conn: Connection, picking: sa.Select[Any], worker_id: str, now: datetime, lease_s: float
    ) -> list[RowMapping]:
        # A CTE, so the picking subquery runs once (an IN (subquery) may be re-run per row).
        picked = picking.cte("picked")
        return list(
            conn.execute(
                sa.update(t.runs)
                .where(t.runs.c.id == picked.c.id)
                .where(t.runs.c.state == RunState.PENDING.value)
                .values(
                    state=RunState.RUNNING.value,
                    attempt=t.runs.c.attempt + 1,
                    lease_owner=worker_id,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    started_at=sa.func.coalesce(t.runs.c.started_at, now),
                )
                .returning(*t.runs.c)
            )
            .mappings()
            .all()
        )

    def _claim_limited(
        self,
        conn: Connection,
        limited: Sequence[Any],
        worker_id: str,
        now: datetime,
        lease_s: float,
        limit: int,
    ) -> list[RowMapping]:
        """The claim when some processes with a limit have pending runs: theirs into free slots."""
        limited_ids = [process_id for process_id, _ in limited]
        # Another worker claiming for a process right now holds its row: skip that process this time.
        locked = set(conn.scalars(self._lock_processes(limited_ids)))
        running = dict(
            conn.execute(
                sa.select(t.runs.c.process_id, sa.func.count())
                .where(t.runs.c.state == RunState.RUNNING.value, t.runs.c.process_id.in_(list(locked)))
                .group_by(t.runs.c.process_id)
            ).all()
        )
        # Candidates: each limited process's oldest runs up to its free slots, and the oldest runs of
        # every other process; the oldest of them all are claimed, so a limited process neither
        # passes its limit nor jumps the queue ahead of older runs of other processes.
        candidates: list[str] = []
        for process_id, cap in limited:
            free = min(cap - running.get(process_id, 0), limit)
            if process_id in locked and free > 0:
                candidates += conn.scalars(self._claim_query(free).where(t.runs.c.process_id == process_id))
        candidates += conn.scalars(self._claim_query(limit).where(t.runs.c.process_id.not_in(limited_ids)))
        chosen = sorted(candidates)[:limit]
        if not chosen:
            return []
        picking = sa.select(t.runs.c.id).where(t.runs.c.id.in_(chosen))
        return self._claim(conn, picking, worker_id, now, lease_s)

    def _lock_processes(self, process_ids: list[str]) -> sa.Select[Any]:
        """Select (and on PostgreSQL lock, skipping rows locked by others) processes' rows."""
        return sa.select(t.processes.c.id).where(t.processes.c.id.in_(process_ids))

    def extend_leases(self, worker_id: str, run_ids: Sequence[str], *, lease_s: float) -> dict[str, bool]:
        """Heartbeat: extend the leases this worker still holds.

        Returns the ids still held, each with whether a cancel was asked for (a fallback for a
        missed cancel notification).
        """
        if not run_ids:
            return {}
        with self.write() as conn:
            held = conn.execute(
                sa.update(t.runs)
                .where(
                    t.runs.c.id.in_(list(run_ids)),
                    t.runs.c.lease_owner == worker_id,
                    t.runs.c.state == RunState.RUNNING.value,
                )
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
                .returning(t.runs.c.id, t.runs.c.cancel_requested)
            ).all()
            return {rid: bool(cancel) for rid, cancel in held}

    def hand_back_runs(self, worker_id: str, run_ids: Sequence[str]) -> list[str]:
        """A worker shutting down returns runs it will not finish; the attempt is not counted as lost."""
        if not run_ids:
            return []
        now = utcnow()
        with self.write() as conn:
            rows = conn.execute(
                sa.update(t.runs)
                .where(
                    t.runs.c.id.in_(list(run_ids)),
                    t.runs.c.lease_owner == worker_id,
                    t.runs.c.state == RunState.RUNNING.value,
                )
                .values(
                    state=RunState.PENDING.value,
                    lease_owner=None,
                    lease_expires_at=None,
                    max_attempts=t.runs.c.max_attempts + 1,
                )
                .returning(t.runs.c.id, t.runs.c.attempt)
            ).all()
            if rows:
                conn.execute(
                    sa.insert(t.run_events),
                    [
                        {
                            "run_id": rid,
                            "at": now,
                            "kind": "handed_back",
                            "from_state": RunState.RUNNING.value,
                            "to_state": RunState.PENDING.value,
                            "attempt": attempt,
                            "data": {"worker": worker_id},
                        }
                        for rid, attempt in rows
                    ],
                )
                self.notify_new_runs(conn)
        return [rid for rid, _ in rows]

    def finish_run(self, run_id: str, *, attempt: int, to_state: RunState, **outcome: Any) -> bool:
        """Record one attempt's outcome; see :meth:`finish_runs`."""
        return self.finish_runs([Outcome(run_id=run_id, attempt=attempt, to_state=to_state, **outcome)])[0]

    def finish_runs(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Record attempts' outcomes in one transaction, each with its log lines and state event.

        Fenced: an outcome is written only while its attempt still holds the run (state Running and
        the same attempt number), so a worker that lost its lease cannot overwrite a recovered run.
        """
        now = utcnow()
        written: list[bool] = []
        events: list[dict[str, Any]] = []
        wake: list[str] = []  # waiting parents (and runs just parked) to check for ended children
        with self.write() as conn:
            for o in outcomes:
                final = o.to_state in FINAL_STATES
                params: dict[str, Any] = {
                    "b_id": o.run_id,
                    "b_attempt": o.attempt,
                    "b_state": o.to_state.value,
                    "b_exec_state": o.exec_state,
                    "b_outputs": o.outputs,
                    "b_error": o.error,
                    "b_now": now,
                }
                statement = _finish_statement(o.outputs is not None, o.error is not None, final)
                result = conn.execute(statement, params)
                ok = result.rowcount == 1
                written.append(ok)
                if not ok:
                    continue
                if o.children:
                    insert_pending_runs(conn, o.children, {"parent_run_id": o.run_id})
                if o.to_state is RunState.WAITING:
                    wake.append(o.run_id)
                elif final and o.parent_run_id:
                    wake.append(o.parent_run_id)
                events.extend(
                    {
                        "run_id": o.run_id,
                        "at": now,
                        "kind": "log",
                        "from_state": None,
                        "to_state": None,
                        "attempt": o.attempt,
                        "data": line,
                    }
                    for line in o.log
                )
                events.append(
                    {
                        "run_id": o.run_id,
                        "at": now,
                        "kind": "state",
                        "from_state": RunState.RUNNING.value,
                        "to_state": o.to_state.value,
                        "attempt": o.attempt,
                        "data": o.event_data,
                    }
                )
            if events:
                conn.execute(_INSERT_EVENTS, events)
            if any(
                o.to_state is RunState.PENDING or o.children
                for o, ok in zip(outcomes, written, strict=True)
                if ok
            ):
                self.notify_new_runs(conn)
            if wake:
                from plainrun.store.children import wake_parents

                wake_parents(self, conn, wake)
        return written

    def cancel_run(self, run_id: str, *, reason: str = "cancelled") -> Run:
        """Cancel a run: a pending or waiting run stops at once; a running one is flagged for its worker."""
        now = utcnow()
        with self.write() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
            if row is None:
                raise NotFound("The run was not found.")
            state = RunState(row["state"])
            if state.is_final:
                raise Conflict(f"The run has already ended ({state.value}).")
            values = self.cancel_in(conn, run_id, state, row["attempt"], reason=reason, now=now)
            if state is not RunState.RUNNING and row["parent_run_id"]:
                # It ended now (a running one ends with its worker's outcome): wake a waiting parent.
                from plainrun.store.children import wake_parents

                wake_parents(self, conn, [row["parent_run_id"]])
            from plainrun.store.children import cancel_descendants

            cancel_descendants(self, conn, run_id, reason="its parent run was cancelled")
        return _run({**row, **values})  # type: ignore[arg-type]

    def cancel_in(
        self, conn: Connection, run_id: str, state: RunState, attempt: int, *, reason: str, now: datetime
    ) -> dict[str, Any]:
        """Inside the caller's transaction: a running run is flagged for its worker, any other
        unfinished run is Cancelled at once (with its event). Returns the values written."""
        if state is RunState.RUNNING:
            values: dict[str, Any] = {"cancel_requested": True}
            conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(values))
            self.notify_cancel(conn, run_id)
            return values
        assert can_move(state, RunState.CANCELLED)
        values = {"state": RunState.CANCELLED.value, "finished_at": now, "cancel_requested": True}
        conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(values))
        conn.execute(
            sa.insert(t.run_events).values(
                run_id=run_id,
                at=now,
                kind="state",
                from_state=state.value,
                to_state=RunState.CANCELLED.value,
                attempt=attempt,
                data={"reason": reason},
            )
        )
        return values

    def notify_cancel(self, conn: Connection, run_id: str) -> None:
        """Called inside the transaction that flagged a running run; its worker is told on commit."""
        conn.info["after_commit"].append(
            lambda: [listener(run_id) for listener in list(self.cancel_listeners)]
        )

    def recover_expired_leases(self, *, now: datetime | None = None) -> list[tuple[str, RunState]]:
        """Runs whose worker stopped heart-beating: back to Pending, or Failed after the last attempt."""
        now = now or utcnow()
        recovered: list[tuple[str, RunState]] = []
        with self.write() as conn:
            rows = (
                conn.execute(
                    self._lock_for_update(
                        sa.select(
                            t.runs.c.id,
                            t.runs.c.attempt,
                            t.runs.c.max_attempts,
                            t.runs.c.lease_owner,
                            t.runs.c.parent_run_id,
                        )
                        .where(t.runs.c.state == RunState.RUNNING.value, t.runs.c.lease_expires_at < now)
                        .limit(500)
                    )
                )
                .mappings()
                .all()
            )
            for r in rows:
                last = r["attempt"] >= r["max_attempts"]
                to_state = RunState.FAILED if last else RunState.PENDING
                values: dict[str, Any] = {
                    "state": to_state.value,
                    "lease_owner": None,
                    "lease_expires_at": None,
                }
                data: dict[str, Any] = {"reason": "worker lost", "worker": r["lease_owner"]}
                if last:
                    values["finished_at"] = now
                    values["error"] = {
                        "message": f"The run's worker was lost {r['attempt']} times; giving up.",
                        "kind": "worker_lost",
                    }
                conn.execute(
                    sa.update(t.runs)
                    .where(t.runs.c.id == r["id"], t.runs.c.attempt == r["attempt"])
                    .values(values)
                )
                conn.execute(
                    sa.insert(t.run_events).values(
                        run_id=r["id"],
                        at=now,
                        kind="attempt_lost",
                        from_state=RunState.RUNNING.value,
                        to_state=to_state.value,
                        attempt=r["attempt"],
                        data=data,
                    )
                )
                recovered.append((r["id"], to_state))
            if any(s is RunState.PENDING for _, s in recovered):
                self.notify_new_runs(conn)
            parents = [
                r["parent_run_id"] for r in rows if r["parent_run_id"] and r["attempt"] >= r["max_attempts"]
            ]
            if parents:
                from plainrun.store.children import wake_parents

                wake_parents(self, conn, parents)
        return recovered

    # --- the per-agent key-value box ---------------------------------------------------------

    def box_get(self, agent_id: str, key: str) -> Any:
        with self.read() as conn:
            return conn.scalar(
                sa.select(t.box.c.value).where(t.box.c.agent_id == agent_id, t.box.c.key == key)
            )

    def box_set(self, agent_id: str, key: str, value: Any) -> None:
        with self.write() as conn:
            where = (t.box.c.agent_id == agent_id, t.box.c.key == key)
            updated = conn.execute(sa.update(t.box).where(*where).values(value=value, updated_at=utcnow()))
            if updated.rowcount == 0:
                conn.execute(
                    sa.insert(t.box).values(agent_id=agent_id, key=key, value=value, updated_at=utcnow())
                )

    def box_delete(self, agent_id: str, key: str) -> None:
        with self.write() as conn:
            conn.execute(sa.delete(t.box).where(t.box.c.agent_id == agent_id, t.box.c.key == key))

    def count_runs_by_state(self) -> dict[str, int]:
        with self.read() as conn:
            rows = conn.execute(sa.select(t.runs.c.state, sa.func.count()).group_by(t.runs.c.state)).all()
        return {state: count for state, count in rows}
