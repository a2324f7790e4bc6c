"""``OneWriteHttpProtocol``: each response leaves in one write, and nothing is lost or reordered."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from plainrun.http.speed import OneWriteHttpProtocol


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    if scope["path"] == "/big":  # streamed in many parts, more than the socket buffers hold
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4000000")]}
        )
        for i in range(40):
            await send(
                {"type": "http.response.body", "body": bytes([65 + i % 26]) * 100_000, "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
        return
    body = b'{"path": "%s"}' % scope["path"].encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def server() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=OneWriteHttpProtocol, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield port
    srv.should_exit = True
    thread.join(10)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_small_response_comes_in_one_piece_on_a_kept_alive_connection(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        for path in ("/a", "/b", "/c"):
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            # head and body were written together, so the first read holds both
            first = sock.recv(65536)
            head, _, body = first.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), first
            assert body == b'{"path": "%s"}' % path.encode(), first


def test_closing_after_a_response_sends_it_first(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = _read_all(sock)  # until the server closes
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"path": "/last"}'), data


def test_a_large_streamed_response_arrives_whole_and_in_order(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(0.2)  # let the server fill the socket buffers: it must wait, not drop or reorder
        data = _read_all(sock)
    body = data.partition(b"\r\n\r\n")[2]
    assert body == b"".join(bytes([65 + i % 26]) * 100_000 for i in range(40))
