"""HTTP: get or post JSON, always within a deadline (``the timeout is 5`` seconds, up to the
installation's maximum; 30 by default), to public addresses only unless the installation allows
more, with a bounded response. The requests are made by ``plainrun.books.outbound``."""

from __future__ import annotations

import json
from typing import Any

from plainrun.books.outbound import Reply, request
from plainrun.language.books import procedure
from plainrun.language.environment import Environment
from plainrun.language.values import json_fraction, json_text, to_text


def _seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    try:
        seconds = float(to_text(timeout))
    except ValueError:
        raise ValueError(f"the timeout is a number of seconds, not {to_text(timeout)[:40]!r}") from None
    if not seconds == seconds:  # NaN
        raise ValueError("the timeout is a number of seconds")
    return seconds


def _headers(headers: Any) -> dict[str, str]:
    out = {str(k): to_text(v) for k, v in (headers or {}).items()}
    for name, value in out.items():
        if not (name.isascii() and value.isascii()):
            raise ValueError(f"the header {name[:40]!r} must be plain ASCII text")
    return out


def _json_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers of a JSON body: the process's own, with a JSON content type unless it gave one."""
    if any(name.lower() == "content-type" for name in headers):
        return headers
    return {"content-type": "application/json", **headers}


def _answer(reply: Reply) -> Any:
    if reply.status >= 400:
        raise ValueError(f"the server answered {reply.status} {reply.reason[:100]}")
    try:
        return json.loads(reply.content, parse_float=json_fraction)
    except ValueError:
        if "json" in reply.headers.get("content-type", ""):
            raise ValueError("the server's answer is not valid JSON") from None
        return reply.text


@procedure("to fetch json from a (url)")
def fetch_json(url: str, env: Environment, timeout: Any = None, headers: dict[str, Any] | None = None) -> Any:
    reply = request("GET", url, policy=env.outbound, timeout=_seconds(timeout), headers=_headers(headers))
    return _answer(reply)


@procedure("to post a (data) as json to a (url)")
def post_json(
    data: Any, url: str, env: Environment, timeout: Any = None, headers: dict[str, Any] | None = None
) -> Any:
    reply = request(
        "POST",
        url,
        policy=env.outbound,
        timeout=_seconds(timeout),
        headers=_json_headers(_headers(headers)),
        content=json_text(data).encode(),  # every number to its last digit
    )
    return _answer(reply)
