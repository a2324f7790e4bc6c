"""The worker: claims runs under a lease, runs them in the executor pool, records how they ended.

One worker is an asyncio loop with four tasks (and the webhooks' deliverer, ``engine/deliverer.py``):

    claim      take as many pending runs as there are free slots (one transaction per batch);
               woken at once by new runs (in-process or NOTIFY), polling only as a fallback
    heartbeat  extend the leases of the runs in flight; a run whose lease was lost is stopped
    recover    hand runs of dead workers (expired leases) back to pending, or fail them
    complete   write finished attempts in batches, fenced by attempt number

Many workers may run against one PostgreSQL database; ``plainrun serve`` runs one beside the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from plainrun.domain import ids
from plainrun.domain.runs import Outcome, Run, RunState
from plainrun.engine import metrics
from plainrun.engine.deliverer import Deliverer
from plainrun.engine.executor import ExecResult, ExecutorPool
from plainrun.errors import StoreError
from plainrun.services.container import Services
from plainrun.services.execution import child_run
from plainrun.store import modules as store_modules

log = logging.getLogger(__name__)

JOB_TARGET = "plainrun.engine.job:execute"


@dataclass(frozen=True)
class WorkerConfig:
    #: Runs in flight at once (waiting for or using an executor process).
    concurrency: int = 64
    #: Executor processes; defaults to the number of cores.
    executor_size: int = field(default_factory=lambda: os.cpu_count() or 2)
    #: A claim lasts this long without a heartbeat; a dead worker's runs are recovered after it.
    lease_s: float = 10.0
    heartbeat_s: float = 3.0
    poll_s: float = 2.0
    recover_s: float = 2.0
    #: On shutdown, how long runs in flight may take to finish before they are handed back.
    grace_s: float = 10.0
    memory_limit_mb: int | None = 2048
    max_jobs_per_child: int = 2000
    #: While busy, how long an outcome waits for others to share its transaction.
    outcome_batch_s: float = 0.002
    #: While busy, how long a claim waits for more announced runs to take in the same transaction.
    claim_batch_s: float = 0.002

    def with_lease(self, lease_s: float) -> WorkerConfig:
        """This config with another lease, heart-beating and recovering often enough for it."""
        return dataclasses.replace(
            self, lease_s=lease_s, heartbeat_s=lease_s / 3, recover_s=min(self.recover_s, lease_s / 2)
        )


class Worker:
    def __init__(
        self, services: Services, config: WorkerConfig | None = None, *, worker_id: str | None = None
    ):
        self.services = services
        self.execution = services.execution
        self.config = config or WorkerConfig()
        self.id = worker_id or f"{socket.gethostname()[:30]}-{os.getpid()}-{ids.new_id()[-6:]}"
        self.pool = ExecutorPool(
            size=self.config.executor_size,
            max_jobs_per_child=self.config.max_jobs_per_child,
            memory_limit_mb=self.config.memory_limit_mb,
            # Imported once in the fork server, not in each child it forks (a child is replaced
            # every max_jobs_per_child jobs): the books, and the database layer, which a job opens
            # only when it needs it (a live log line, a file, the box).
            preload=[
                "plainrun.engine.job",
                "plainrun.books",
                *store_modules(services.settings.database_url),
            ],
        )
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._attempts: dict[str, int] = {}
        self._cancelled: set[str] = set()
        self._lost: set[str] = set()
        self._wake = asyncio.Event()
        #: Whether a claim may find runs (see ``_claim_loop``); true at start, to look once.
        self._may_have_work = True
        self._completions: asyncio.Queue[tuple[Outcome, asyncio.Future[bool]] | None] = asyncio.Queue()
        self._stopping = False
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        settings = services.settings
        self.deliverer = (
            Deliverer(services.webhooks, poll_s=settings.webhook_poll_s)
            if settings.webhook_delivery
            else None
        )

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then finish or hand back the runs in flight."""
        await self.pool.start()
        async with self.services.store.listening(self._on_new_runs, self._on_cancel):
            tasks = [
                asyncio.create_task(self._claim_loop(), name="claim"),
                asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
                asyncio.create_task(self._recover_loop(), name="recover"),
                asyncio.create_task(self._complete_loop(), name="complete"),
            ]
            if self.deliverer is not None:
                tasks.append(asyncio.create_task(self.deliverer.run(self._stop), name="webhooks"))
            log.info("worker started", extra={"action": "worker_started", "worker": self.id})
            self.ready.set()
            try:
                await stop.wait()
            finally:
                self._stopping = True
                self._wake.set()
                await self._shutdown(tasks)

    async def _pause(self, seconds: float) -> bool:
        """Sleep between rounds of a loop; True when the worker is stopping (then return at once)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _shutdown(self, tasks: list[asyncio.Task[Any]]) -> None:
        self._stop.set()
        # The loops end by themselves (never mid-query: a cancelled query would leave its thread
        # holding a connection); the claim loop first, so nothing new starts.
        await asyncio.wait([tasks[0]])
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()), timeout=self.config.grace_s)
        leftover = list(self._inflight)
        for run_id in leftover:
            self._lost.add(run_id)  # their outcome is not ours to write any more
        await self.pool.close(grace_s=0)
        if leftover:
            with contextlib.suppress(StoreError):
                handed = await asyncio.to_thread(self.execution.hand_back, self.id, leftover)
                log.info("runs handed back", extra={"action": "handed_back", "runs": handed})
        await self._completions.put(None)  # the writer finishes what is queued, then ends
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("worker stopped", extra={"action": "worker_stopped", "worker": self.id})

    # --- claiming ----------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        # Claim in batches: once a quarter of the slots are free, or at once when the executors
        # would otherwise run out of work. One transaction then claims many runs, not one each.
        # A claim is made only when there may be work: runs were announced (in-process or NOTIFY),
        # the last claim took all it asked for, a run of a process with a concurrency limit ended,
        # or the fallback poll came round. A slot freed by any other run needs no claim: the queue
        # was empty when last looked at, and nothing new was announced since.
        batch = max(1, self.config.concurrency // 4)
        next_poll = time.monotonic() + self.config.poll_s
        while not self._stopping:
            # Cleared before looking, so a wake-up that comes while we claim or decide not to is
            # kept for the wait below (and never spins the loop when there is nothing to do).
            self._wake.clear()
            if time.monotonic() >= next_poll:
                self._may_have_work = True
                next_poll = time.monotonic() + self.config.poll_s
            free = self.config.concurrency - len(self._inflight)
            runs: list[Run] = []
            if self._may_have_work and (
                free >= batch or (free > 0 and len(self._inflight) <= self.config.executor_size)
            ):
                if len(self._inflight) > self.config.executor_size:
                    # Busy: the executors have work queued, so runs announced in the next moment
                    # may as well come in this claim. Idle, the claim is made at once.
                    await asyncio.sleep(self.config.claim_batch_s)
                self._may_have_work = False
                try:
                    runs = await self.execution.claim(self.id, limit=free, lease_s=self.config.lease_s)
                except Exception as exc:  # the database is away (or worse): the loop must go on
                    self._may_have_work = True
                    log.warning(
                        "claim failed",
                        extra={"action": "claim_failed", "error": str(exc)},
                        exc_info=not isinstance(exc, StoreError),
                    )
                    await self._pause(1.0)
                    continue
                now = time.time()
                for run in runs:
                    metrics.CLAIM_LATENCY.observe(max(0.0, now - run.created_at.timestamp()))
                    self._attempts[run.id] = run.attempt
                    self._inflight[run.id] = asyncio.create_task(self._execute(run), name=f"run-{run.id}")
                metrics.INFLIGHT.set(len(self._inflight))
                if len(runs) == free:
                    self._may_have_work = True  # there may be more waiting
                    continue
            # Not wait_for: its task around the wait costs two more turns of the loop between a
            # wake-up and the claim. The poll's time sets the event too (the loop then looks again).
            timer = asyncio.get_running_loop().call_later(
                max(0.0, next_poll - time.monotonic()), self._wake.set
            )
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    def _on_new_runs(self) -> None:
        self._may_have_work = True
        self._wake.set()

    def _on_cancel(self, run_id: str) -> None:
        # Remembered even when the run is not (yet) in flight here: the notice can overtake the
        # claim that brings it. The heartbeat forgets notices for runs this worker does not run.
        self._cancelled.add(run_id)
        if run_id in self._inflight:
            self.pool.cancel(run_id)

    # --- executing ---------------------------------------------------------------------------

    async def _execute(self, run: Run) -> None:
        started = time.monotonic()
        paused = False
        try:
            if run.cancel_requested:
                self._cancelled.add(run.id)
            payload = None
            if run.id not in self._cancelled:
                # Built on the loop when it needs no query (source and settings cached, no files).
                if self.execution.payload_is_cached(run):
                    payload = self.execution.payload(run)
                else:
                    payload = await asyncio.to_thread(self.execution.payload, run)
            if payload is None or run.id in self._cancelled:
                result = ExecResult(job_id=run.id, kind="cancelled")
            else:
                result = await self.pool.run(run.id, JOB_TARGET, payload, timeout_s=run.timeout_s)
            if run.id in self._lost:
                log.warning("lease lost; outcome dropped", extra={"action": "lease_lost", "run": run.id})
                return
            outcome = self._outcome(run, result)
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            await self._completions.put((outcome, future))
            if await future:
                metrics.RUNS_FINISHED.labels(state=outcome.to_state.value).inc()
                metrics.RUN_DURATION.observe(time.monotonic() - started)
                paused = outcome.to_state is RunState.AWAITING_GUIDANCE
        except Exception:
            log.exception("run execution failed", extra={"action": "execute_failed", "run": run.id})
        finally:
            self._inflight.pop(run.id, None)
            self._attempts.pop(run.id, None)
            self._cancelled.discard(run.id)
            self._lost.discard(run.id)
            metrics.INFLIGHT.set(len(self._inflight))
            if self.execution.may_have_limit(run.process_id):
                self._may_have_work = True  # its process's pending runs may take the slot
            self._wake.set()  # a slot is free
        if paused:
            # A remembered answer to this question resumes the run at once. After the clean-up
            # above: the answered run is pending again, and this worker may claim it right away.
            try:
                await asyncio.to_thread(self._answer_or_notify, run)
            except Exception:
                log.exception("auto answer failed", extra={"action": "auto_answer_failed", "run": run.id})

    def _answer_or_notify(self, run: Run) -> None:
        """A remembered answer, or else an e-mail to the people its process routes questions to."""
        if not self.services.guidance.auto_answer(run.id, attempt=run.attempt):
            self.services.routing.notify(run.id)

    def _outcome(self, run: Run, result: ExecResult) -> Outcome:
        base: dict[str, Any] = {"run_id": run.id, "attempt": run.attempt, "parent_run_id": run.parent_run_id}
        if result.kind == "ok":
            value = result.value
            kind = value.get("outcome")
            logs = value.get("log", [])
            if value.get("children"):
                base["children"] = [child_run(child) for child in value["children"]]
            if kind == "waiting":
                return Outcome(
                    **base,
                    to_state=RunState.WAITING,
                    exec_state=value["exec_state"],
                    event_data={"waiting_for": value["runs"]},
                    log=logs,
                )
            if kind == "succeeded":
                return Outcome(**base, to_state=RunState.SUCCEEDED, outputs=value["outputs"], log=logs)
            if kind == "paused":
                return Outcome(
                    **base,
                    to_state=RunState.AWAITING_GUIDANCE,
                    outputs=value.get("outputs"),
                    error=value["error"],
                    exec_state=value.get("exec_state"),
                    log=logs,
                )
            return Outcome(
                **base, to_state=RunState.FAILED, error=value["error"], outputs=value.get("outputs"), log=logs
            )
        if result.kind == "cancelled" and run.id in self._cancelled:
            return Outcome(
                **base, to_state=RunState.CANCELLED, event_data={"reason": "cancelled by a person"}
            )
        if result.kind == "timeout":
            return Outcome(
                **base,
                to_state=RunState.TIMED_OUT,
                error={
                    "kind": "timeout",
                    "message": f"The run passed its maximum execution time of {run.timeout_s:g} s "
                    "and was stopped.",
                },
            )
        messages = {
            "memory": "The run used more memory than a run may use and was stopped.",
            "crashed": f"The process's code crashed (exit code {result.exit_code}, signal {result.signal}).",
            "error": f"The run failed inside the engine: {result.error_type}: {result.error_message}",
            "cancelled": "The run was stopped by the engine.",
        }
        return Outcome(
            **base, to_state=RunState.FAILED, error={"kind": result.kind, "message": messages[result.kind]}
        )

    # --- completing --------------------------------------------------------------------------

    async def _complete_loop(self) -> None:
        """Write outcomes in batches until the shutdown's ``None`` arrives (never cut off mid-write)."""
        while True:
            first = await self._completions.get()
            batch = [first]
            while not self._completions.empty() and len(batch) < 256:
                batch.append(self._completions.get_nowait())
            if first is not None and len(self._inflight) > self.config.executor_size:
                # Busy (more runs in flight than executors): let the outcomes of the next moment
                # join this transaction rather than each pay for one. Idle, it is written at once.
                await asyncio.sleep(self.config.outcome_batch_s)
                while not self._completions.empty() and len(batch) < 256:
                    batch.append(self._completions.get_nowait())
            done = None in batch
            items = [item for item in batch if item is not None]
            if items:
                await self._write(items)
            if done:
                return

    async def _write(self, batch: list[tuple[Outcome, asyncio.Future[bool]]]) -> None:
        delay = 0.1
        while True:
            try:
                written = await self.execution.finish([o for o, _ in batch])
                break
            except Exception as exc:  # the database is away (or worse): the loop must go on
                # The database is away: keep the outcomes and try again; the lease protects the runs.
                log.warning(
                    "writing outcomes failed",
                    extra={"action": "complete_failed", "error": str(exc)},
                    exc_info=not isinstance(exc, StoreError),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        for (outcome, future), ok in zip(batch, written, strict=True):
            if not ok:
                log.warning("outcome fenced out", extra={"action": "fenced", "run": outcome.run_id})
            if not future.done():
                future.set_result(ok)

    # --- leases ------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while not await self._pause(self.config.heartbeat_s):
            self._cancelled &= set(self._inflight)
            run_ids = list(self._attempts)
            if not run_ids:
                continue
            try:
                held = await asyncio.to_thread(
                    self.execution.heartbeat, self.id, run_ids, lease_s=self.config.lease_s
                )
            except Exception as exc:  # the database is away (or worse): the loop must go on
                log.warning(
                    "heartbeat failed",
                    extra={"action": "heartbeat_failed", "error": str(exc)},
                    exc_info=not isinstance(exc, StoreError),
                )
                continue
            for run_id in run_ids:
                if run_id not in self._inflight:
                    continue
                if run_id not in held:
                    # Another worker recovered it (or it was cancelled while pending): stop our copy.
                    self._lost.add(run_id)
                    self.pool.cancel(run_id)
                elif held[run_id]:
                    self._on_cancel(run_id)

    async def _recover_loop(self) -> None:
        # Recovery takes runs from workers that stopped heart-beating. After the database was away
        # (or when this worker has just started) live workers may not have renewed their leases yet:
        # recover only once the database has answered without a break for a whole lease.
        reachable_since: float | None = None
        while not self._stop.is_set():
            recovered: list[tuple[str, RunState]] = []
            try:
                if reachable_since is None or time.monotonic() - reachable_since < self.config.lease_s:
                    if not await asyncio.to_thread(self.execution.reachable):
                        reachable_since = None
                    elif reachable_since is None:
                        reachable_since = time.monotonic()
                else:
                    recovered = await asyncio.to_thread(self.execution.recover)
            except Exception as exc:  # the database is away (or worse): the loop must go on
                reachable_since = None
                log.warning(
                    "recovery failed",
                    extra={"action": "recover_failed", "error": str(exc)},
                    exc_info=not isinstance(exc, StoreError),
                )
            for run_id, state in recovered:
                metrics.RECOVERED.labels(state=state.value).inc()
                log.warning(
                    "run recovered", extra={"action": "recovered", "run": run_id, "state": state.value}
                )
            await self._pause(self.config.recover_s)
