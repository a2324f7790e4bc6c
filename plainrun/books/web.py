"""HTTP: get or post JSON, always with a timeout (``the timeout is 5`` seconds; 30 by default).

httpx is imported on the first request, so that a process that makes none starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plainrun.language.books import procedure
from plainrun.language.values import to_plain, to_text

if TYPE_CHECKING:
    import httpx

DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 10_000_000


def _response(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise ValueError(f"the server answered {response.status_code} {response.reason_phrase}")
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise ValueError("the response is too large")
    try:
        return response.json()
    except ValueError:
        if "json" in response.headers.get("content-type", ""):
            raise ValueError("the server's answer is not valid JSON") from None
        return response.text


def _options(timeout: Any, headers: Any) -> dict[str, Any]:
    import httpx

    try:
        seconds = float(to_text(timeout)) if timeout is not None else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(f'the timeout "{to_text(timeout)}" is not a number of seconds') from None
    return {
        "timeout": httpx.Timeout(min(max(seconds, 0.1), 300.0)),
        "headers": {str(k): to_text(v) for k, v in (headers or {}).items()},
        "follow_redirects": True,
    }


def _request(method: str, url: str, options: dict[str, Any], data: Any = None) -> Any:
    import httpx

    try:
        if method == "GET":
            response = httpx.get(url, **options)
        else:
            response = httpx.post(url, json=to_plain(data), **options)
    except httpx.TimeoutException:
        raise ValueError(f"{url} did not answer in time") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise ValueError(f'"{url}" is not a web address') from None
    except httpx.HTTPError:
        raise ValueError(f"{url} could not be reached") from None
    return _response(response)


@procedure("to fetch json from a (url)")
def fetch_json(url: str, timeout: Any = None, headers: dict[str, Any] | None = None) -> Any:
    return _request("GET", url, _options(timeout, headers))


@procedure("to post a (data) as json to a (url)")
def post_json(data: Any, url: str, timeout: Any = None, headers: dict[str, Any] | None = None) -> Any:
    return _request("POST", url, _options(timeout, headers), data)
