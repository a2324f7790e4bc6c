"""Signing in and out, who the signed-in viewer is, and the CSRF check of every unsafe request.

The session is Starlette's signed cookie (HttpOnly, SameSite=Lax) holding only the identity
(``["key", id]`` or ``["user", id]``) and a random CSRF token. The identity is looked up again on
every request, so a revoked key or a deleted user is signed out at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from plainrun.errors import TooManyTries, Unauthenticated
from plainrun.http.web.templating import UI, pages
from plainrun.services.access import Principal
from plainrun.services.container import Services
from plainrun.services.users import UserService

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No one is signed in (or the identity was revoked): the sign-in page."""


class CsrfRejected(Exception):
    """An unsafe request without the session's CSRF token: a 403 page."""


@dataclass(frozen=True, slots=True)
class Viewer:
    principal: Principal
    label: str

    @property
    def agent_id(self) -> str | None:
        return self.principal.agent_id


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def check_csrf(request: Request) -> None:
    """Every unsafe method must carry the session's token in a form field or the X-CSRF-Token header."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise CsrfRejected()


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def users_of(request: Request) -> UserService:
    return request.app.state.users  # type: ignore[no-any-return]


def current_viewer(request: Request) -> Viewer:
    """The signed-in viewer, checked against the database on this request."""
    identity = request.session.get("identity")
    found = None
    if isinstance(identity, list) and len(identity) == 2:
        found = users_of(request).identity(str(identity[0]), str(identity[1]))
    if found is None:
        request.session.pop("identity", None)
        raise SignInRequired()
    viewer = Viewer(found.principal, found.label)
    request.state.viewer = viewer
    csrf_token(request)
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services_of)]

router = APIRouter(dependencies=[Depends(check_csrf)])


def _start_session(request: Request, identity: list[str]) -> None:
    request.session.clear()  # a new session on sign-in: no fixation of a token set before it
    request.session["identity"] = identity
    request.session["csrf"] = secrets.token_urlsafe(32)


def _next(target: str | None) -> str:
    """Only a path inside the UI is a place to go back to after signing in."""
    if (
        target
        and target.startswith(UI + "/")
        and "\\" not in target
        and target.isprintable()
        and target.isascii()
    ):
        return target
    return UI + "/"


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    csrf_token(request)
    return pages(request).render(request, "sign_in.html", next=_next(next), error=None)


@router.post("/sign-in")
def sign_in(
    request: Request,
    services: ServicesDep,
    api_key: Annotated[str | None, Form(max_length=200)] = None,
    name: Annotated[str | None, Form(max_length=100)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    next: Annotated[str | None, Form(max_length=2048)] = None,
) -> Response:
    try:
        if api_key:
            principal = services.keys.authenticate(api_key.strip())
            _start_session(request, ["key", principal.key_id])
        elif name and password:
            address = request.client.host if request.client else None
            user = users_of(request).sign_in(name, password, address=address)
            _start_session(request, ["user", user.id])
        else:
            raise Unauthenticated("Give an API key, or a name and a password.")
    except Unauthenticated as exc:
        return pages(request).render(
            request, "sign_in.html", status_code=401, next=_next(next), error=exc.message
        )
    except TooManyTries as exc:
        page = pages(request).render(
            request, "sign_in.html", status_code=429, next=_next(next), error=exc.message
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    return RedirectResponse(_next(next), status_code=303)


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(f"{UI}/sign-in", status_code=303)


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in SAFE_METHODS:
        target = UI + "/"
    return RedirectResponse(f"{UI}/sign-in?next={quote(target, safe='/')}", status_code=303)
