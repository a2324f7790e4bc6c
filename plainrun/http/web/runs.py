"""Pages of runs: "View Runs" with filters and bulk actions, the run page with live updates,
guidance, cancel and re-run, and file downloads."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from plainrun.domain.clock import utcnow
from plainrun.domain.guidance import learned_what
from plainrun.domain.runs import Run, RunState, Stage, Trigger
from plainrun.errors import InvalidInput, NotFound, StoreError
from plainrun.http.web import audit, forms
from plainrun.http.web.forms import REFUSED, Typed
from plainrun.http.web.guidance import center_view
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, flash, pages
from plainrun.services.container import Services
from plainrun.services.runs import RunFilter

router = APIRouter(dependencies=[Depends(check_csrf)])

ANSWER_LIMITS = {"value": 100_000, "action": 10, "back": 20, "remember": 10, "confirmed": 10}

PAGE = 25
ACTIONS = ("rerun", "archive", "unarchive", "add_test_case")
MAX_SELECTED = 100


_Enum = TypeVar("_Enum", RunState, Stage, Trigger)


def _pick(kind: type[_Enum], values: list[str] | None) -> list[_Enum]:
    try:
        return [kind(v) for v in values or [] if v]
    except ValueError as exc:
        raise InvalidInput(f"Unknown filter value: {exc}") from exc


@router.get("/processes/{process_id}/runs")
def runs_page(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
    stage: Annotated[str | None, Query(max_length=20)] = None,
    trigger: Annotated[list[str] | None, Query(max_length=20)] = None,
    archived: bool = False,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    # The filter form sends "" for "any"; other unknown values are refused.
    where = RunFilter(
        stage=_pick(Stage, [stage])[0] if stage else None,
        states=_pick(RunState, state),
        triggers=_pick(Trigger, trigger),
        archived=archived,
    )
    process = services.processes.get(viewer.principal, process_id)
    page = services.runs.page(
        viewer.principal,
        agent_id=process.agent_id,
        process_id=process.id,
        where=where,
        limit=PAGE,
        continuation_token=continuation_token,
    )
    query: list[tuple[str, str]] = [("state", s.value) for s in where.states]
    query += [("trigger", t.value) for t in where.triggers]
    if where.stage:
        query.append(("stage", where.stage.value))
    if archived:
        query.append(("archived", "true"))
    token = page.continuation_token
    next_url = (
        f"{UI}/processes/{process_id}/runs?{urlencode([*query, ('continuation_token', token)])}"
        if token
        else None
    )
    return pages(request).render(
        request,
        "runs.html",
        runs=page.items,
        learned=remembered(services, viewer, page.items),
        output_names=output_columns(page.items),
        process=process,
        where=where,
        states=list(RunState),
        triggers=list(Trigger),
        next_url=next_url,
        back_query=urlencode(query),
        first_page=continuation_token is None,
    )


def output_columns(runs: list[Run], most: int = 12) -> list[str]:
    """The output names shown as columns, in the order the runs first defined them."""
    names: dict[str, None] = {}
    for run in runs:
        for output in run.outputs or []:
            names.setdefault(str(output.get("name")), None)
    return list(names)[:most]


_DONE = frozenset({"archived", "unarchived", "unchanged", "started", "added"})


def _summary(verb: str, results: list[dict[str, Any]]) -> str:
    """One line for the flash message: how many runs the action took, and why the others not."""
    good = sum(1 for r in results if r.get("result") in _DONE)
    problems = [
        f"{r['run_id']}: {r.get('message') or r.get('result')}"
        for r in results
        if r.get("result") not in _DONE
    ]
    text = f"{verb}: {good} of {len(results)} run(s)."
    return text + (" Not done: " + "; ".join(problems[:5]) if problems else "")


@router.post("/processes/{process_id}/runs/actions")
def run_actions(
    request: Request,
    process_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    action: Annotated[str, Form(max_length=20)],
    run_ids: Annotated[list[str] | None, Form(max_length=MAX_SELECTED)] = None,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    services.processes.get(viewer.principal, process_id)
    selected = list(dict.fromkeys(run_ids or []))
    if action not in ACTIONS:
        raise InvalidInput("Unknown action.", details=[("action", action[:20])])
    if not selected:
        flash(request, "Select one or more runs first.")
    elif action in ("archive", "unarchive"):
        outcome = services.runs.set_archived(viewer.principal, selected, action == "archive")
        results = [{"run_id": k, "result": v} for k, v in outcome.items()]
        flash(request, _summary(action.capitalize() + "d", results))
    elif action == "rerun":
        flash(request, _summary("Re-run", services.tests.rerun(viewer.principal, selected)))
    else:
        flash(request, _summary("Added as test cases", services.tests.add_cases(viewer.principal, selected)))
    target = f"{UI}/processes/{process_id}/runs"
    if back and "\n" not in back and "\r" not in back:
        target += "?" + back.lstrip("?")
    return RedirectResponse(target, status_code=303)


def _live_version(run: Run, events: int) -> str:
    return f"{run.state.value}.{run.attempt}.{events}.{int(run.archived)}"


def _run_context(
    services: Services, viewer: ViewerDep, run: Run, events: list[Any] | None = None
) -> dict[str, Any]:
    if events is None:
        events = services.runs.events(viewer.principal, run.id)
    source_line = None
    error = run.error or {}
    line = error.get("line")
    if isinstance(line, int) and line > 0:
        with contextlib.suppress(StoreError):
            text = services.runs.source_line(viewer.principal, run, line)
            if text is not None:
                source_line = {"number": line, "text": text, "column": error.get("column")}
    names = services.users.names(audit.principals(events))
    return {
        "run": run,
        "events": events,
        "sentences": [audit.sentence(e, names) for e in events],
        "source_line": source_line,
        "files": services.runs.files(viewer.principal, run),
        "children": services.runs.children(viewer.principal, run.id),
        "version": _live_version(run, len(events)),
        "is_final": run.state.is_final,
        "learned": remembered(services, viewer, [run]).get(run.id),
        "ran_for": _ran_for(run),
    }


def _ran_for(run: Run) -> float | None:
    """How long the run has run: from its start to its end, or to now while it goes on."""
    if run.started_at is None:
        return None
    end = run.finished_at or (None if run.state.is_final else utcnow())
    return (end - run.started_at).total_seconds() if end else None


def remembered(services: Services, viewer: ViewerDep, runs: list[Run]) -> dict[str, Any]:
    """For each run a remembered answer answered: that learning (None when it was forgotten since)."""
    out: dict[str, Any] = {}
    for run in runs:
        if run.learning_id:
            try:
                out[run.id] = {"learning": services.guidance.learning(viewer.principal, run.learning_id)}
            except NotFound:
                out[run.id] = {"learning": None}
    return out


def run_view(
    request: Request, services: Services, viewer: ViewerDep, run_id: str, form: Typed | None = None
) -> Response:
    """The run page; ``form`` is its answer form, refused, as it was sent."""
    run = services.runs.get(viewer.principal, run_id)
    process = services.processes.get(viewer.principal, run.process_id)
    context = _run_context(services, viewer, run)
    status = REFUSED if form is not None else 200
    return pages(request).render(request, "run.html", status, form, process=process, **context)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    return run_view(request, services, viewer, run_id)


@router.get("/runs/{run_id}/live")
def run_live(
    request: Request,
    run_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    v: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The run page's live part as an HTML fragment; 204 while nothing changed since version ``v``."""
    run = services.runs.get(viewer.principal, run_id)
    events = services.runs.events(viewer.principal, run.id)
    if v is not None and v == _live_version(run, len(events)):
        return Response(status_code=204, headers={"cache-control": "no-store"})
    context = _run_context(services, viewer, run, events)
    response = pages(request).render(request, "run_live.html", **context)
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/runs/{run_id}/cancel")
def cancel(request: Request, run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    services.runs.cancel(viewer.principal, run_id, reason=f"cancelled by {viewer.label}")
    flash(request, "Cancel requested.")
    return RedirectResponse(f"{UI}/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/rerun")
def rerun(request: Request, run_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    result = services.tests.rerun(viewer.principal, [run_id])[0]
    if result["result"] != "started":
        raise InvalidInput(result.get("message") or "The run could not be re-run.")
    flash(request, "Re-run started.")
    return RedirectResponse(f"{UI}/runs/{result['new_run_id']}", status_code=303)


#: What each way of answering says once done.
_ANSWERED = {
    "value": "Answered.",
    "retry": "Retrying the step.",
    "skip": "Skipped the step.",
    "stop": "Stopped the run.",
}
_YES = ("true", "1", "on")


def _remember_page(
    request: Request, services: Services, viewer: ViewerDep, run_id: str, form: Typed
) -> Response:
    """Remembering is a choice made twice: the person reads what it will do, then confirms."""
    run = services.runs.get(viewer.principal, run_id)
    line = (run.error or {}).get("line")
    action, value = form.text("action"), form.values.get("value", [None])[0]
    return pages(request).render(
        request,
        "remember.html",
        run=run,
        action=action,
        value=value,
        back=form.text("back"),
        what=learned_what(line if isinstance(line, int) else 0, action, value),
    )


@router.post("/runs/{run_id}/guidance")
def guidance(
    request: Request, run_id: str, viewer: ViewerDep, services: ServicesDep, data: forms.Sent
) -> Response:
    back = str(data.get("back") or "")
    form = forms.typed(f"answer-{run_id}" if back == "guidance" else "answer", data, ANSWER_LIMITS)
    action, value = form.text("action"), form.values.get("value", [None])[0]
    remember = form.text("remember") in _YES
    try:
        if not form.errors and action == "value" and not (value or "").strip():
            form = form.refused(InvalidInput("Choose or write an answer first.", details=[("value", "")]))
        if form.errors:
            return _refused_answer(request, services, viewer, run_id, form)
        if remember and form.text("confirmed") not in _YES:
            return _remember_page(request, services, viewer, run_id, form)
        services.guidance.answer(
            viewer.principal,
            run_id,
            action=action,
            value=value if action == "value" else None,
            remember=remember,
            by_name=viewer.label,
        )
    except InvalidInput as exc:
        return _refused_answer(request, services, viewer, run_id, form.refused(exc, default="value"))
    flash(request, _ANSWERED.get(action, "Done.") + (" The answer is remembered." if remember else ""))
    return RedirectResponse(
        f"{UI}/guidance" if back == "guidance" else f"{UI}/runs/{run_id}", status_code=303
    )


def _refused_answer(
    request: Request, services: Services, viewer: ViewerDep, run_id: str, form: Typed
) -> Response:
    """The page the answer came from, with the answer as typed and why it was refused."""
    if form.form == "answer":
        return run_view(request, services, viewer, run_id, form)
    return center_view(request, viewer, services, None, None, form)


@router.get("/files/{file_id}")
def download(file_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    record, stream = services.files.open(viewer.principal, file_id)

    def chunks() -> Any:
        with stream:
            while chunk := stream.read(64 * 1024):
                yield chunk

    ascii_name = record.name.encode("ascii", "replace").decode().replace('"', "_")
    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={
            # Always a download, never shown in the page's origin.
            "content-disposition": f'attachment; filename="{ascii_name}"',
            "content-security-policy": "sandbox; default-src 'none'",
        },
    )
