"""Records to wire dictionaries (the one place that decides how a resource looks on the wire)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse

from plainrun.domain import bounds, storable
from plainrun.domain.agents import Agent, ApiKey
from plainrun.domain.files import FileRecord
from plainrun.domain.guidance import Learning
from plainrun.domain.processes import Process, ProcessVersion
from plainrun.domain.runs import Run, RunEvent
from plainrun.domain.schedules import Schedule
from plainrun.domain.testsuite import TestCase, TestResult, TestRun


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


class JSON(JSONResponse):
    """A JSONResponse (so the OpenAPI document shows each route's response model) rendered by the
    store's own codec (whole numbers exact at any size)."""

    def render(self, content: Any) -> bytes:
        return storable.dumps(content)


def run(r: Run) -> dict[str, Any]:
    """A run as the specification's RunResource (name and outputs within its bounds, even for a
    run written before they were fitted on the way in), plus plainrun's extra fields."""
    return {
        "id": r.id,
        "name": bounds.fit_name(r.name),
        "agent_id": r.agent_id,
        "process_id": r.process_id,
        "stage": r.stage.value,
        "status": r.state.status.value,
        "created_at": ts(r.created_at),
        "file_ids": r.file_ids,
        "outputs": r.outputs if bounds.fits(r.outputs) else bounds.fit_outputs(r.outputs),
        # plainrun's extra fields
        "state": r.state.value,
        "version": r.version,
        "inputs": r.inputs,
        "trigger": r.trigger.value,
        "trigger_ref": r.trigger_ref,
        "archived": r.archived,
        "attempt": r.attempt,
        "started_at": ts(r.started_at),
        "finished_at": ts(r.finished_at),
        "error": r.error,
        "rerun_of": r.rerun_of,
        "parent_run_id": r.parent_run_id,
        "cancel_requested": r.cancel_requested,
    }


def event(e: RunEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": ts(e.at),
        "kind": e.kind,
        "from_state": e.from_state.value if e.from_state else None,
        "to_state": e.to_state.value if e.to_state else None,
        "attempt": e.attempt,
        "data": e.data,
    }


def process(p: Process, *, source: str | None = None, inputs: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "agent_id": p.agent_id,
        "name": p.name,
        "description": p.description,
        "draft_revision": p.draft_revision,
        "published_version": p.published_version,
        "stages": ["Draft", "Published"] if p.published_version else ["Draft"],
        "settings": p.settings,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "archived": p.archived,
    }
    if source is not None:
        out["source"] = source
    if inputs is not None:
        out["inputs"] = inputs
    return out


def version(v: ProcessVersion, *, source: str | None = None, created: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"process_id": v.process_id, "version": v.version, "created_at": ts(v.created_at)}
    if source is not None:
        out["source"] = source
    if created is not None:
        out["created"] = created
    return out


def file(f: FileRecord) -> dict[str, Any]:
    return {
        "id": f.id,
        "agent_id": f.agent_id,
        "name": f.name,
        "content_type": f.content_type,
        "size": f.size,
        "sha256": f.sha256,
        "uploaded": f.ready,
        "created_at": ts(f.created_at),
    }


def agent(a: Agent) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "created_at": ts(a.created_at)}


def api_key(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "agent_id": k.agent_id,
        "name": k.name,
        "prefix": k.prefix,
        "created_at": ts(k.created_at),
        "revoked_at": ts(k.revoked_at),
    }


def learning(item: Learning) -> dict[str, Any]:
    return {
        "id": item.id,
        "agent_id": item.agent_id,
        "process_id": item.process_id,
        "line": item.line,
        "question": item.question,
        "action": item.action,
        "value": item.value,
        "created_at": ts(item.created_at),
    }


def test_case(c: TestCase) -> dict[str, Any]:
    return {
        "id": c.id,
        "agent_id": c.agent_id,
        "process_id": c.process_id,
        "name": c.name,
        "inputs": c.inputs,
        "file_ids": c.file_ids,
        "expected": c.expected,
        "source_run_id": c.source_run_id,
        "created_at": ts(c.created_at),
    }


def test_run(run: TestRun, results: list[TestResult] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id,
        "agent_id": run.agent_id,
        "stage": run.stage,
        "process_ids": run.process_ids,
        "state": run.state,
        "created_at": ts(run.created_at),
        "finished_at": ts(run.finished_at),
    }
    if results is not None:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        out["summary"] = counts
        out["results"] = [
            {
                "test_case_id": r.test_case_id,
                "process_id": r.process_id,
                "name": r.name,
                "run_id": r.run_id,
                "status": r.status,
                "diff": r.diff,
            }
            for r in results
        ]
    return out


def schedule(s: Schedule, next_fire_times: Sequence[datetime]) -> dict[str, Any]:
    """A schedule, with its next fire times (the service reckons them)."""
    return {
        "id": s.id,
        "agent_id": s.agent_id,
        "process_id": s.process_id,
        "name": s.name,
        "kind": s.kind,
        **s.spec,
        "timezone": s.timezone,
        "inputs": s.inputs,
        "catch_up": {"policy": s.catch_up, "window_s": s.catch_up_window_s},
        "enabled": s.enabled,
        "next_fire_times": [ts(t) for t in next_fire_times],
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
    }
