"""Where a client sends its calls: the service's URL, the API key, the retries and httpx's client."""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx

from plainrun.client.retries import Retries

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
X = TypeVar("X", httpx.BaseTransport, httpx.AsyncBaseTransport)


class Connection(Generic[H, X]):
    """The service at ``url``, the API ``key``, the ``retries``, and httpx's client (``timeout``,
    ``transport``) of the sync or the async client."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: Retries | None = None,
        transport: X | None = None,
    ):
        self.url = url.rstrip("/")
        self.key = key
        self.retries = retries or Retries()
        self._http: H = self._open(timeout, transport)

    def _open(self, timeout: float, transport: X | None) -> H:
        raise NotImplementedError
