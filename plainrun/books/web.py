"""HTTP: get or post JSON, always with a timeout (``the timeout is 5`` seconds; 30 by default)."""

from __future__ import annotations

from typing import Any

import httpx

from plainrun.language.books import procedure
from plainrun.language.values import to_plain, to_text

DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 10_000_000


def _response(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise ValueError(f"the server answered {response.status_code} {response.reason_phrase}")
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise ValueError("the response is too large")
    if "json" in response.headers.get("content-type", ""):
        return response.json()
    try:
        return response.json()
    except ValueError:
        return response.text


def _options(timeout: Any, headers: Any) -> dict[str, Any]:
    seconds = float(to_text(timeout)) if timeout is not None else DEFAULT_TIMEOUT
    return {
        "timeout": httpx.Timeout(min(max(seconds, 0.1), 300.0)),
        "headers": {str(k): to_text(v) for k, v in (headers or {}).items()},
        "follow_redirects": True,
    }


@procedure("to fetch json from a (url)")
def fetch_json(url: str, timeout: Any = None, headers: dict[str, Any] | None = None) -> Any:
    try:
        return _response(httpx.get(url, **_options(timeout, headers)))
    except httpx.TimeoutException:
        raise ValueError(f"{url} did not answer in time") from None
    except httpx.HTTPError as err:
        raise ValueError(f"{url} could not be reached: {err}") from None


@procedure("to post a (data) as json to a (url)")
def post_json(data: Any, url: str, timeout: Any = None, headers: dict[str, Any] | None = None) -> Any:
    try:
        return _response(httpx.post(url, json=to_plain(data), **_options(timeout, headers)))
    except httpx.TimeoutException:
        raise ValueError(f"{url} did not answer in time") from None
    except httpx.HTTPError as err:
        raise ValueError(f"{url} could not be reached: {err}") from None
