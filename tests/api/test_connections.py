"""Keep-alive connections are closed after ``max_requests_per_connection`` answers (default 100)."""

from __future__ import annotations

import socket

from graph_api.settings import ApiSettings
from tests.api.conftest import Api


def _answer(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One HTTP/1.1 answer off the socket: (head, body)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "the server closed before answering"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed mid-answer"
        rest += chunk
    buffer[:] = rest[length:]
    return head.lower(), rest[:length]


def test_the_hundredth_answer_on_a_connection_closes_it(api: Api) -> None:
    assert ApiSettings().max_requests_per_connection == 100
    host, port = api.url.removeprefix("http://").split(":")
    buffer = bytearray()
    # From 127.0.0.2 (still loopback): no earlier test's connection had this address, so
    # none left a count behind for it (the middleware knows a connection by its address).
    with socket.create_connection((host, int(port)), timeout=10, source_address=("127.0.0.2", 0)) as sock:
        for n in range(1, 101):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            head, body = _answer(sock, buffer)
            assert head.startswith(b"http/1.1 200") and b'"status":"ok"' in body
            assert (b"connection: close" in head) == (n == 100), n
        assert sock.recv(1) == b""  # closed by the server after the 100th answer
