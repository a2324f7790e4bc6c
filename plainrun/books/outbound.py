"""The outbound HTTP client of processes and webhooks (the HTTP book, the deliverer): every connection is
checked against the installation's policy (``plainrun.domain.outbound``), the response is streamed
and stopped at its bound, and one deadline covers the whole request.

- **Addresses**: a name is resolved here, every address it resolves to must be allowed, and the
  connection is made to an address that was checked (so a second answer of the name server
  cannot swap it). Redirects are followed by the same client, so each hop's connection is checked
  the same way, and at most ``max_redirects`` of them; proxies from the environment are not used.
- **Time**: the deadline (the process's ``timeout``, within the policy's bounds) covers resolving,
  connecting, TLS, sending and every read, so a server that drips its answer a byte at a time is
  cut off at the deadline all the same. Connecting has its own, shorter bound.
- **Size**: a response is read as it arrives and refused once it passes ``max_response_bytes``
  (a declared Content-Length over the bound is refused before the body is read).
- **Errors** name the URL and what went wrong for the process's author, never the system's
  reason (refused, reset, unreachable all read "could not be reached"), so a process cannot tell
  what listens where.
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
import typing
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from plainrun.domain.outbound import Address, OutboundPolicy, parse_address

#: Name lookups run here so that a slow resolver cannot outlast the deadline.
_RESOLVER = ThreadPoolExecutor(4, thread_name_prefix="plainrun-resolve")


class OutboundError(ValueError):
    """An outbound request failed; the message is safe to show to the process's author."""


class NotAllowed(OutboundError):
    """The address may not be reached from processes."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    reason: str
    headers: httpx.Headers
    content: bytes
    #: The charset the answer declares, if any.
    charset: str | None

    @property
    def text(self) -> str:
        try:
            return self.content.decode(self.charset or "utf-8", "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")


class _Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def left(self, timeout: float | None) -> float:
        """The time an operation may take: its own bound, cut to what is left of the request's."""
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline):
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.left(timeout))
        return _Stream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _CheckedBackend(httpcore.NetworkBackend):
    """Connects only to addresses the policy allows, by the addresses it checked."""

    def __init__(self, policy: OutboundPolicy, deadline: _Deadline):
        self._policy = policy
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        limit = self._deadline.left(
            min(timeout or self._policy.connect_timeout_s, self._policy.connect_timeout_s)
        )
        started = time.monotonic()
        addresses = resolve(host, port, limit)
        refused = [a for a in addresses if not self._policy.allows(a)]
        if refused:
            raise NotAllowed(
                f"{host} is not a public address: processes may reach it only if the installation "
                "allows its network"
            )
        failure: Exception | None = None
        for address in addresses:
            left = limit - (time.monotonic() - started)
            if left <= 0:
                break
            try:
                stream = self._inner.connect_tcp(str(address), port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _Stream(stream, self._deadline)
        raise httpcore.ConnectError("no address answered") from failure

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def resolve(host: str, port: int, timeout: float) -> list[Address]:
    """The addresses a name (or an address in any spelling) stands for, found within ``timeout``."""
    literal = parse_address(host.strip("[]"))
    if literal is not None:
        return [literal]
    try:
        found = _RESOLVER.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(timeout)
    except FutureTimeout:
        raise httpcore.ConnectTimeout("the name was not found in time") from None
    except (OSError, UnicodeError):
        raise httpcore.ConnectError("the name was not found") from None
    addresses: list[Address] = []
    for _family, _kind, _proto, _name, sockaddr in found:
        address = parse_address(str(sockaddr[0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise httpcore.ConnectError("the name was not found")
    return addresses


class _Transport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose connections go through the checked backend
    (the pool is the transport's whole state; its own would load the certificates again)."""

    def __init__(self, backend: httpcore.NetworkBackend):
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=4,
            network_backend=backend,
        )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The certificates every request verifies against, loaded once per process."""
    return httpx.create_ssl_context(trust_env=False)


def check_url(url: str, policy: OutboundPolicy, *, timeout: float = 5.0) -> None:
    """Refuse (``OutboundError``) a URL that is not http(s), or whose host resolves to an address the
    policy does not allow (a check made ahead of a request, which checks again when it connects)."""
    shown = url[:200]
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise OutboundError(f"{shown} is not a valid address") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise OutboundError(f"{shown} is not an http:// or https:// address")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = resolve(parsed.host, port, timeout)
    except (httpcore.ConnectError, httpcore.ConnectTimeout):
        raise OutboundError(f"the host of {shown} was not found") from None
    if not all(policy.allows(address) for address in addresses):
        raise NotAllowed(
            f"{parsed.host} is not a public address: it may be reached only if the installation "
            "allows its network"
        )


def request(
    method: str,
    url: str,
    *,
    policy: OutboundPolicy,
    timeout: float | None = None,
    headers: dict[str, str] | None = None,
    json: Any = None,
    content: bytes | None = None,
    follow_redirects: bool = True,
    cut_at: int | None = None,
) -> Reply:
    """One request by the policy: the status, headers and whole (bounded) content of its answer.

    ``content``: the body as it is (instead of ``json``); ``follow_redirects=False``: a redirect is
    the answer; ``cut_at``: only so many bytes of the answer are read and kept (no error past them).
    """
    seconds = policy.timeout(timeout)
    deadline = _Deadline(seconds)
    transport = _Transport(_CheckedBackend(policy, deadline))
    shown = url[:200]
    try:
        with httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(seconds, connect=min(seconds, policy.connect_timeout_s)),
            follow_redirects=follow_redirects,
            max_redirects=policy.max_redirects,
            trust_env=False,
        ) as client:
            kwargs = {"headers": headers or {}, "json": json, "content": content}
            with client.stream(method, url, **{k: v for k, v in kwargs.items() if v is not None}) as response:
                read = (
                    _read(response, policy.max_response_bytes) if cut_at is None else _start(response, cut_at)
                )
                return Reply(
                    response.status_code,
                    response.reason_phrase,
                    response.headers,
                    read,
                    response.charset_encoding,
                )
    except httpx.TooManyRedirects:
        raise OutboundError(f"{shown} redirected more than {policy.max_redirects} times") from None
    except httpx.UnsupportedProtocol:
        raise OutboundError(f"{shown} is not an http:// or https:// address") from None
    except OutboundError:
        raise
    except (httpx.InvalidURL, ValueError):
        raise OutboundError(f"{shown} is not a valid address") from None
    except httpx.LocalProtocolError:
        raise OutboundError(f"the request to {shown} is not valid (look at its headers)") from None
    except httpx.TimeoutException:
        raise OutboundError(f"{shown} did not answer within {seconds:g} s") from None
    except httpx.DecodingError:
        raise OutboundError(f"the answer of {shown} could not be decoded") from None
    except httpx.HTTPError:
        raise OutboundError(f"{shown} could not be reached") from None


def _start(response: httpx.Response, size: int) -> bytes:
    """The first ``size`` bytes of an answer (the rest is not read)."""
    chunks: list[bytes] = []
    kept = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk[: size - kept])
        kept += len(chunks[-1])
        if kept >= size:
            break
    return b"".join(chunks)


def _read(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise OutboundError(f"the response is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise OutboundError(f"the response is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
