"""Jinja2 templates (autoescaped), the filters they use, and ``page`` to render one."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from plainrun.domain.clock import utcnow
from plainrun.domain.runs import RunState
from plainrun.http.web.forms import REFUSED, Forms, Typed

#: Where the UI is mounted.
UI = "/ui"

STATE_TONE = {
    RunState.PENDING: "wait",
    RunState.RUNNING: "busy",
    RunState.WAITING: "busy",
    RunState.AWAITING_GUIDANCE: "ask",
    RunState.SUCCEEDED: "ok",
    RunState.FAILED: "bad",
    RunState.CANCELLED: "off",
    RunState.TIMED_OUT: "bad",
}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def show(value: Any) -> str:
    """A fact's value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def state_name(state: RunState | str | None) -> str:
    """A state as people read it: ``AwaitingGuidance`` is "Awaiting Guidance"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(getattr(state, "value", state) or ""))


def duration(seconds: float | None) -> str:
    """A span of time in words a person reads at a glance: 850 ms, 12.5 s, 3 min 20 s, 2 h 5 min, 3 days."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def since(value: datetime | None) -> str:
    """How long ago ``value`` was, in words."""
    if value is None:
        return ""
    return duration(max(0.0, (utcnow() - value).total_seconds()))


def tone(state: RunState | str | None) -> str:
    try:
        return STATE_TONE[RunState(state or "")]
    except (KeyError, ValueError):
        return "wait"


def build_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("plainrun.http.web", "templates"),
        autoescape=True,  # every template, whatever its name: all process text and run data is escaped
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, show=show, tone=tone, state_name=state_name, duration=duration, since=since)
    env.globals.update(ui=UI)
    return env


class Pages:
    def __init__(self) -> None:
        self.env = build_environment()

    def render(
        self,
        request: Request,
        name: str,
        status_code: int | None = None,
        form: Typed | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The page ``name``; ``form`` is the form of it that was sent and refused (``forms`` in
        the templates, see ``forms.py``). Unless ``status_code`` says otherwise, a page with a
        refused form answers ``REFUSED``, any other 200."""
        viewer = getattr(request.state, "viewer", None)
        session = request.scope.get("session") or {}
        flash = session.pop("flash", None) if "session" in request.scope else None
        waiting = None
        if viewer is not None:
            # The count in the navigation of every page: one count on a partial index.
            waiting = request.app.state.services.guidance.count_waiting(viewer.principal)
        html = self.env.get_template(name).render(
            request=request,
            viewer=viewer,
            waiting_count=waiting,
            csrf=session.get("csrf", ""),
            flash=flash,
            forms=Forms(form),
            **context,
        )
        if status_code is None:
            status_code = REFUSED if form is not None else 200
        return HTMLResponse(html, status_code=status_code)


def pages(request: Request) -> Pages:
    return request.app.state.pages  # type: ignore[no-any-return]


def flash(request: Request, message: str) -> None:
    """A one-line message shown on the next page rendered for this session."""
    request.session["flash"] = message[:500]
