"""An agent's pages over all its processes: the home page with its charts, and every run on one page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from plainrun.domain.agents import Agent
from plainrun.domain.pages import Page
from plainrun.domain.runs import Run, RunState, Trigger
from plainrun.errors import InvalidInput
from plainrun.http.web import charts, forms
from plainrun.http.web.forms import REFUSED
from plainrun.http.web.runs import _pick, remembered
from plainrun.http.web.session import ServicesDep, Viewer, ViewerDep, check_csrf
from plainrun.http.web.templating import UI, duration, pages, state_name
from plainrun.services.container import Services
from plainrun.services.runs import RunFilter

router = APIRouter(dependencies=[Depends(check_csrf)])

PAGE = 25
#: The most runs the page counts exactly; beyond, it says "more than 10,000 runs".
COUNTED = 10_000
#: How many pages back "Previous" goes (beyond that, "Newest" starts again).
TRAIL = 8
_DateQuery = Annotated[str | None, Query(max_length=10)]


@router.get("/agents/{agent_id}/home")
def home_page(request: Request, agent_id: str, viewer: ViewerDep, services: ServicesDep) -> Response:
    agent = services.agents.get(viewer.principal, agent_id)
    figures = services.overview.of_agent(viewer.principal, agent_id)
    per_day = charts.runs_per_day(
        figures.days, figures.per_day, f"Runs per day over the last {len(figures.days)} days, by state"
    )
    rates = charts.horizontal_bars(
        [
            (
                p.name,
                p.success_rate or 0.0,
                f"{p.success_rate:.0%}" if p.success_rate is not None else "no ended runs",
            )
            for p in figures.processes
        ],
        "Share of ended runs that succeeded, per process",
        colour="#1c7c43",
    )
    slowest = max((p.p95_s or 0.0 for p in figures.processes), default=0.0) or 1.0
    durations = charts.horizontal_bars(
        [
            (
                p.name,
                (p.p95_s or 0.0) / slowest,
                f"p50 {duration(p.p50_s) or 'none'}, p95 {duration(p.p95_s) or 'none'}",
            )
            for p in figures.processes
        ],
        "How long succeeded runs take, per process (95th percentile)",
    )
    return pages(request).render(
        request,
        "home.html",
        agent=agent,
        figures=figures,
        chart_per_day=per_day,
        chart_rates=rates,
        chart_durations=durations,
        colours=[(state_name(s), c, s) for s, c in charts.STATE_COLOURS.items()],
    )


def _day(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"The {what} date is written YYYY-MM-DD.", details=[(what, value)]) from exc


@router.get("/agents/{agent_id}/runs")
def all_runs(
    request: Request,
    agent_id: str,
    viewer: ViewerDep,
    services: ServicesDep,
    name: Annotated[str | None, Query(max_length=100)] = None,
    start: _DateQuery = None,
    end: _DateQuery = None,
    state: Annotated[list[str] | None, Query(max_length=20)] = None,
    trigger: Annotated[list[str] | None, Query(max_length=20)] = None,
    process: Annotated[str | None, Query(max_length=64)] = None,
    tests: bool = False,
    archived: bool = False,
    continuation_token: Annotated[str | None, Query(max_length=2048)] = None,
    back: Annotated[list[str] | None, Query(max_length=TRAIL)] = None,
) -> Response:
    """The previous pages are the tokens that led here (``back``, at most ``TRAIL`` of them)."""
    agent = services.agents.get(viewer.principal, agent_id)
    process_id = process or None
    try:
        where = _filter(name, start, end, state, trigger, tests=tests, archived=archived)
        page = services.runs.page(
            viewer.principal,
            agent_id=agent_id,
            process_id=process_id,
            where=where,
            limit=PAGE,
            continuation_token=continuation_token,
        )
        total = _total(services, viewer, agent_id, process_id, where, page, first=continuation_token is None)
    except InvalidInput as exc:
        return _refused_filters(request, services, viewer, agent, exc)
    query = _query(where, start, end, process_id)
    here = f"{UI}/agents/{agent_id}/runs"
    next_url, previous_url = _pager(here, query, continuation_token, page.continuation_token, back)
    processes = services.processes.page(viewer.principal, agent_id, limit=200).items
    return pages(request).render(
        request,
        "all_runs.html",
        agent=agent,
        runs=page.items,
        total=total,
        counted=COUNTED,
        learned=remembered(services, viewer, page.items),
        names={p.id: p.name for p in processes},
        processes=processes,
        where=where,
        filters={"name": where.name or "", "start": start or "", "end": end or "", "process": process_id},
        states=list(RunState),
        triggers=list(Trigger),
        next_url=next_url,
        previous_url=previous_url,
        first_url=f"{here}?{urlencode(query)}" if continuation_token else None,
        refresh=any(not r.state.is_final for r in page.items),
    )


def _total(
    services: Services,
    viewer: Viewer,
    agent_id: str,
    process_id: str | None,
    where: RunFilter,
    page: Page[Run],
    *,
    first: bool,
) -> int:
    """How many runs the list has, counted up to ``COUNTED + 1``; a first page with no next one
    holds the whole list, so then nothing is counted."""
    if first and page.continuation_token is None:
        return len(page.items)
    return services.runs.count(
        viewer.principal, agent_id=agent_id, process_id=process_id, where=where, most=COUNTED + 1
    )


def _refused_filters(
    request: Request, services: ServicesDep, viewer: ViewerDep, agent: Agent, exc: InvalidInput
) -> Response:
    """The page with no runs and its filters as typed, the refused one's message beside it."""
    form = forms.typed("filters", request.query_params).refused(exc, fields={"start": "start"}, default="end")
    processes = services.processes.page(viewer.principal, agent.id, limit=200).items
    return pages(request).render(
        request,
        "all_runs.html",
        REFUSED,
        form,
        agent=agent,
        runs=[],
        total=0,
        counted=COUNTED,
        learned={},
        names={},
        processes=processes,
        where=RunFilter(),
        filters={},
        states=list(RunState),
        triggers=list(Trigger),
    )


def _query(
    where: RunFilter, start: str | None, end: str | None, process_id: str | None
) -> list[tuple[str, str]]:
    """The page's filters as a query string's pairs."""
    query = [
        (k, v)
        for k, v in (("name", where.name), ("start", start), ("end", end), ("process", process_id))
        if v
    ]
    query += [("state", s.value) for s in where.states] + [("trigger", t.value) for t in where.triggers]
    return query + [("tests", "true")] * where.tests + [("archived", "true")] * where.archived


def _pager(
    here: str, query: list[tuple[str, str]], token: str | None, next_token: str | None, back: list[str] | None
) -> tuple[str | None, str | None]:
    """The next page and the previous one: the tokens that led here ride along in ``back``."""
    trail = [t for t in back or [] if t][-TRAIL:]
    forward = [*trail, token][-TRAIL:] if token else []
    next_url = (
        f"{here}?{urlencode([*query, *(('back', t) for t in forward), ('continuation_token', next_token)])}"
        if next_token
        else None
    )
    if not token:
        return next_url, None
    previous = [*query, *(("back", t) for t in trail[:-1])]
    if trail:
        previous.append(("continuation_token", trail[-1]))
    return next_url, f"{here}?{urlencode(previous)}"


def _filter(
    name: str | None,
    start: str | None,
    end: str | None,
    state: list[str] | None,
    trigger: list[str] | None,
    *,
    tests: bool,
    archived: bool,
) -> RunFilter:
    """The page's filters; ``end`` is the last day shown (runs made before the next one)."""
    until = _day(end, "end")
    return RunFilter(
        states=_pick(RunState, state),
        triggers=_pick(Trigger, trigger),
        name=(name or "").strip() or None,
        since=_day(start, "start"),
        until=until + timedelta(days=1) if until else None,
        tests=tests,
        archived=archived,
    )
