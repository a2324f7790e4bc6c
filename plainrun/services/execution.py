"""Execution: what workers do to runs (claim, heartbeat, hand back, record outcomes, recover lost
ones), and what an attempt needs to run (its source, files, settings, e-mail facts).

The worker (``plainrun.engine.worker``) orchestrates; the state changes are the store's
(``store.execution``), each a move of the domain's state machine.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

from plainrun.domain.clock import utcnow
from plainrun.domain.outbound import OutboundPolicy
from plainrun.domain.runs import NewRun, Outcome, Run, RunState, Stage, Trigger
from plainrun.settings import Settings
from plainrun.store import Store
from plainrun.store.blobs import BlobPlace

#: How long a process's settings are remembered (they change rarely).
SETTINGS_TTL_S = 5.0


class ExecutionService:
    def __init__(self, store: Store, settings: Settings, blobs: BlobPlace):
        self.store = store
        self.settings = settings
        #: Where the executors read and write file contents.
        self.blobs = blobs
        self._sources: OrderedDict[str, str] = OrderedDict()
        #: Per process: until when the entry holds, its settings, and its concurrency limit.
        self._process_settings: dict[str, tuple[float, dict[str, Any], int | None]] = {}
        self._outbound = OutboundPolicy.from_settings(settings).to_json()

    # --- the worker's moves --------------------------------------------------------------------

    async def claim(
        self, worker_id: str, *, limit: int, lease_s: float, executor: Executor | None = None
    ) -> list[Run]:
        return await self.store.call(self._claim, worker_id, limit, lease_s, executor=executor)

    def _claim(self, worker_id: str, limit: int, lease_s: float) -> list[Run]:
        return self.store.execution.claim(worker_id, limit=limit, lease_s=lease_s)

    async def finish(self, outcomes: Sequence[Outcome], executor: Executor | None = None) -> list[bool]:
        """Record outcomes in one transaction; whether each was written (fenced by attempt)."""
        return await self.store.call(self.store.execution.finish, outcomes, executor=executor)

    def heartbeat(self, worker_id: str, run_ids: Sequence[str], *, lease_s: float) -> dict[str, bool]:
        return self.store.execution.heartbeat(worker_id, run_ids, lease_s=lease_s)

    def hand_back(self, worker_id: str, run_ids: Sequence[str]) -> list[str]:
        return self.store.execution.hand_back(worker_id, run_ids)

    def recover(self, *, now: datetime | None = None) -> list[tuple[str, RunState]]:
        return self.store.execution.recover(now=now)

    def reachable(self) -> bool:
        return self.store.ping()

    # --- what an attempt needs -------------------------------------------------------------------

    def payload_is_cached(self, run: Run) -> bool:
        """Whether :meth:`payload` needs no query for this run (then it is built on the loop)."""
        cached = self._process_settings.get(run.process_id)
        return (
            run.sha256 in self._sources
            and not run.file_ids
            and run.trigger is not Trigger.EMAIL
            and cached is not None
            and cached[0] >= time.monotonic()
        )

    def payload(self, run: Run) -> dict[str, Any]:
        """Everything one attempt of a run needs, for an executor process (JSON)."""
        files = self.store.files.get_many(run.file_ids) if run.file_ids else {}
        settings = self.settings
        email = None
        if run.trigger is Trigger.EMAIL:
            where = {"process_id": run.process_id, "stage": run.stage.value}
            email = self.store.mail.facts(**where, message_id=run.trigger_ref)
        return {
            "run": {
                "id": run.id,
                "agent_id": run.agent_id,
                "process_id": run.process_id,
                "stage": run.stage.value,
                "version": run.version,
                "name": run.name,
                "attempt": run.attempt,
                "inputs": run.inputs,
            },
            "defaults": {"timeout_s": settings.run_timeout_s, "max_attempts": settings.max_attempts},
            "file_bounds": {
                "attempt_bytes": settings.max_run_file_bytes,
                "agent_quota_bytes": settings.agent_quota_bytes,
            },
            "sha256": run.sha256,
            "source": self._source(run.sha256),
            "files": [
                {"id": f.id, "name": f.name, "size": f.size, "content_type": f.content_type}
                for f in (files[i] for i in run.file_ids if i in files)
            ],
            "exec_state": run.exec_state,
            "on_exception": self._settings_of(run.process_id).get("on_exception") or "pause",
            "blobs": self.blobs.as_json(),
            "store": {
                "url": settings.database_url,
                "fast": settings.fast,
                "synchronous": settings.sqlite_synchronous,
            },
            "smtp": {
                "host": settings.smtp_host,
                "port": settings.smtp_port,
                "sender": settings.smtp_sender,
                "hops": int((email or {}).get("hops") or 0),
            },
            "outbound": self._outbound,
            "email": email,
        }

    def _source(self, sha256: str) -> str:
        source = self._sources.get(sha256)
        if source is None:
            source = self._sources[sha256] = self.store.processes.source(sha256)
            if len(self._sources) > 256:
                self._sources.popitem(last=False)
        return source

    def _settings_of(self, process_id: str) -> dict[str, Any]:
        """A process's settings, re-read at most every few seconds."""
        now = time.monotonic()
        cached = self._process_settings.get(process_id)
        if cached is None or cached[0] < now:
            process = self.store.processes.get(process_id)
            cached = (
                now + SETTINGS_TTL_S,
                process.settings if process else {},
                process.max_concurrent_runs if process else None,
            )
            if len(self._process_settings) > 4096:
                self._process_settings.clear()
            self._process_settings[process_id] = cached
        return cached[1]

    def may_have_limit(self, process_id: str) -> bool:
        """Whether the process may have a concurrency limit, from what :meth:`payload` read (never a
        query; a process not read lately may have one). A run of such a process ending frees a slot
        that its pending runs may take, with no new run announced."""
        cached = self._process_settings.get(process_id)
        return cached is None or cached[2] is not None


def child_run(child: dict[str, Any]) -> NewRun:
    """A child run an attempt started (``plainrun.engine.job.RunEnvironment.start_child``)."""
    return NewRun(
        id=child["id"],
        agent_id=child["agent_id"],
        process_id=child["process_id"],
        name=child["name"],
        stage=Stage(child["stage"]),
        version=child["version"],
        sha256=child["sha256"],
        inputs=child["inputs"],
        file_ids=child["file_ids"],
        trigger=Trigger.SUBPROCESS,
        trigger_ref=child["trigger_ref"],
        parent_run_id=child["parent_run_id"],
        max_attempts=child["max_attempts"],
        timeout_s=child["timeout_s"],
        created_at=utcnow(),
        exec_state=child["exec_state"],
    )
