"""How plainrun serves HTTP: uvicorn, on its httptools protocol, with the request head bounded.

uvicorn bounds a request head only on its h11 protocol (``h11_max_incomplete_event_size``); its
httptools protocol, the one ``plainrun serve`` runs (and the base of ``OneWriteHttpProtocol``),
reads a head of any size and any number of headers. :func:`bounded` gives either protocol the
bounds of the settings (``max_header_bytes``, ``max_headers``): a head over them is answered
``431 Request Header Fields Too Large`` with the ErrorModel, through uvicorn's own path for a
request it cannot parse (the parser stops, the answer is written, the connection is closed), and
the application never sees the request.
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from plainrun.settings import Settings


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop the parser (httptools reports it as a parse error)."""


class _HeadBound(HttpToolsProtocol):
    """The request head (request line and header lines) at most ``max_head_bytes`` bytes and
    ``max_headers`` header lines."""

    max_head_bytes = 64 * 1024
    max_headers = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = False
        self._head_bytes = 0  # of the request line and the header lines parsed so far
        self._head_read = 0  # read while the head was arriving (at least the head's bytes so far)
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        was_open = self._head_open
        super().data_received(data)
        if self._head_open and not self._refused:
            # The head is still arriving (a header line the parser holds until it ends): this
            # read counts whole, so that a huge header is stopped as it arrives, not read whole.
            self._head_read = self._head_read + len(data) if was_open else len(data)
            if self._head_read > self.max_head_bytes:
                self._refused = True
                self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open, self._head_bytes, self._head_read = True, 0, 0

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.max_head_bytes:
            self._refuse()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Called for every header line of every request: kept to the sums and the comparisons.
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.max_head_bytes or len(self.headers) >= self.max_headers:
            self._refuse()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_open = False
        super().on_headers_complete()

    def _refuse(self) -> None:
        self._refused = True
        raise _HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            super().send_400_response(msg)
            return
        body = orjson.dumps(
            {
                "status_code": 431,
                "message": f"The request's headers are over their bound ({self.max_head_bytes} bytes, "
                f"{self.max_headers} header lines).",
                "details": None,
            }
        )
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        self.transport.write(head + body)
        self.transport.close()


def bounded(base: type[HttpToolsProtocol], settings: Settings) -> type[HttpToolsProtocol]:
    """``base`` (uvicorn's httptools protocol or a subclass) with the settings' head bounds."""
    return type(
        f"Bounded{base.__name__}",
        (_HeadBound, base),
        {"max_head_bytes": settings.max_header_bytes, "max_headers": settings.max_headers},
    )


def protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """The HTTP protocol ``plainrun serve`` runs: the speed device's, or uvicorn's own when
    ``fast`` is off; bounded either way."""
    from plainrun.http.speed import OneWriteHttpProtocol

    return bounded(OneWriteHttpProtocol if settings.fast else HttpToolsProtocol, settings)
