"""What the process editor asks as its author types: the text's syntax errors (the server's own
parser) and what can be written at a line (phrases to call, facts in scope). JSON, for
``static/editor.js``; the forms of the process page work without it."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from plainrun.errors import TooLarge
from plainrun.http.web.session import ServicesDep, ViewerDep, check_csrf
from plainrun.http.web.text import issues

router = APIRouter(dependencies=[Depends(check_csrf)])

MAX_TEXT = 1_000_000


class EditorText(BaseModel):
    source: str = Field(max_length=MAX_TEXT)
    line: int = Field(default=0, ge=0, le=1_000_000)


@router.post("/editor/check")
def check(body: EditorText, viewer: ViewerDep, services: ServicesDep) -> JSONResponse:
    """The text's syntax errors, each with its line and column (none: it parses)."""
    try:
        found = services.processes.check(body.source)
    except TooLarge as exc:
        return JSONResponse({"errors": [{"line": 1, "column": 1, "message": exc.message}]})
    return JSONResponse({"errors": issues(found)})


@router.post("/editor/vocabulary")
def vocabulary(body: EditorText, viewer: ViewerDep, services: ServicesDep) -> JSONResponse:
    """The phrases the text can call (its own procedures, every installed book's) and the facts in
    scope on ``line``."""
    try:
        found = services.processes.vocabulary(body.source, body.line)
    except TooLarge:
        return JSONResponse({"phrases": [], "facts": []})
    phrases = [
        {"label": p.label, "kind": p.kind, "origin": p.origin, "params": list(p.params)}
        for p in found.phrases
    ]
    return JSONResponse({"phrases": phrases, "facts": found.facts})
