"""The UI's ASGI app: routers, static files, the session cookie, security headers, error pages."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plainrun.errors import PlainrunError
from plainrun.http.web import (
    editor,
    guidance,
    home,
    mail,
    processes,
    run_form,
    runs,
    schedules,
    session,
    testsuite,
    webhooks,
)
from plainrun.http.web.templating import Pages
from plainrun.services.container import Services

STATIC = Path(__file__).parent / "static"
#: The modules of pages, each with its router.
PAGES = (session, processes, run_form, runs, editor, mail, schedules, testsuite, webhooks, home, guidance)
SESSION_HOURS = 12

#: No inline script anywhere, and no inline style but the editor's own (CodeMirror writes its styles
#: into one <style> element, which carries the response's nonce): scripts and styles come from
#: /ui/static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        policy = (b"content-security-policy", CSP.format(nonce=nonce).encode())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in (policy, *HEADERS) if h[0] not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _session_secret(services: Services) -> str:
    return hmac.new(services.secret, b"ui-session", hashlib.sha256).hexdigest()


def create_ui(services: Services) -> FastAPI:
    ui = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    ui.state.services = services
    ui.state.users = services.users
    ui.state.pages = pages = Pages()

    def error_page(request: Request, status: int, title: str, message: str) -> Response:
        return pages.render(request, "error.html", status_code=status, title=title, message=message)

    @ui.exception_handler(session.SignInRequired)
    async def _sign_in(request: Request, exc: session.SignInRequired) -> Response:
        return session.sign_in_redirect(request)

    @ui.exception_handler(session.CsrfRejected)
    async def _csrf(request: Request, exc: session.CsrfRejected) -> Response:
        return error_page(
            request,
            403,
            "Refused",
            "The form was not sent from this site's page (its CSRF token is missing "
            "or wrong). Go back, reload the page, and try again.",
        )

    @ui.exception_handler(PlainrunError)
    async def _plainrun(request: Request, exc: PlainrunError) -> Response:
        titles = {400: "Not accepted", 404: "Not found", 409: "Not now", 413: "Too large"}
        details = "; ".join(f"{n}: {v}" for n, v in exc.details[:20])
        message = exc.message + (f" ({details})" if details else "")
        return error_page(request, exc.status_code, titles.get(exc.status_code, "Error"), message)

    @ui.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()[:20]
        )
        return error_page(request, 400, "Not accepted", f"The request is not valid: {problems}")

    @ui.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(request, 404, "Not found", "There is no such page.")
        return error_page(request, exc.status_code, "Error", str(exc.detail))

    ui.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in PAGES:
        ui.include_router(module.router)
    ui.add_middleware(
        SessionMiddleware,
        secret_key=_session_secret(services),
        session_cookie="plainrun_session",
        max_age=SESSION_HOURS * 3600,
        path="/ui",
        same_site="lax",
        https_only=services.settings.base_url.startswith("https://"),
    )
    ui.add_middleware(SecurityHeaders)
    return ui
