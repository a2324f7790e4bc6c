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

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from plainrun.errors import InvalidInput, TooManyTries, Unauthenticated
from plainrun.http.web import forms
from plainrun.http.web.forms import Typed
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


def _sign_in_page(
    request: Request, next_: str | None, form: Typed | None = None, status: int = 200
) -> Response:
    csrf_token(request)
    return pages(request).render(request, "sign_in.html", status_code=status, form=form, next=_next(next_))


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _sign_in_page(request, next)


#: What a sign-in form takes; a password or key is never sent back in the page.
LIMITS = {"api_key": 200, "name": 100, "password": 1024, "next": 2048}


def _signed_in(request: Request, services: Services, form: Typed) -> None:
    """Start the session the form asks for, or raise why not (naming the field)."""
    if form.form == "key":
        if not form.text("api_key").strip():
            raise InvalidInput("Give an API key.", details=[("api_key", "")])
        try:
            principal = services.keys.authenticate(form.text("api_key").strip())
        except Unauthenticated as exc:
            raise Unauthenticated(exc.message, details=[("api_key", "")]) from None
        _start_session(request, ["key", principal.key_id])
        return
    if not form.text("name"):
        raise InvalidInput("Give your user name.", details=[("name", "")])
    if not form.text("password"):
        raise InvalidInput("Give your password.", details=[("password", "")])
    address = request.client.host if request.client else None
    try:
        user = users_of(request).sign_in(form.text("name"), form.text("password"), address=address)
    except Unauthenticated as exc:
        raise Unauthenticated(exc.message, details=[("password", "")]) from None
    _start_session(request, ["user", user.id])


@router.post("/sign-in")
def sign_in(request: Request, services: ServicesDep, data: forms.Sent) -> Response:
    """Run in a thread: the password's hashing waits for its slot off the event loop."""
    form = forms.typed("key" if "api_key" in data else "user", data, LIMITS)
    # A refused form comes back with the name as typed; never with the password or the key.
    kept = Typed(form.form, {k: v for k, v in form.values.items() if k in ("name", "next")}, sent=True)
    next_ = form.text("next") or None
    try:
        if form.errors:
            name, message = next(iter(form.errors.items()))
            raise InvalidInput(message, details=[(name, "")])
        _signed_in(request, services, form)
    except (InvalidInput, Unauthenticated) as exc:
        return _sign_in_page(request, next_, kept.refused(exc, fields=_SECRET_FIELDS), exc.status_code)
    except TooManyTries as exc:
        page = _sign_in_page(request, next_, kept.refused(exc, default="name"), 429)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    return RedirectResponse(_next(next_), status_code=303)


#: The fields that are never kept are still the ones a message is about.
_SECRET_FIELDS = {"api_key": "api_key", "password": "password", "name": "name"}


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(f"{UI}/sign-in", status_code=303)


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in SAFE_METHODS:
        target = UI + "/"
    return RedirectResponse(f"{UI}/sign-in?next={quote(target, safe='/')}", status_code=303)
