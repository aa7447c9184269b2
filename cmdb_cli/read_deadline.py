"""A deadline for reading each request: uvicorn's httptools protocol with a read timeout.

uvicorn (0.55) times out only an idle keep-alive connection after a response, and any
byte received cancels that timer: a connection that never sends a request, or sends its
head or body a byte at a time, is held for ever (2,000 half-open connections stayed
open 40 s and more). Here a request's head must arrive within ``seconds`` of the
connection opening or of the previous response ending, and its body within ``seconds``
more plus the time its declared length takes at ``MIN_BYTES_PER_SECOND`` (a collector's
50 MB batch over a slow link is not cut off); a chunked body must keep bringing
``_CHUNK_CREDIT`` bytes every ``seconds``. Otherwise the connection is closed. The hooks
used (``connection_made``, ``on_headers_complete``, ``on_body``, ``on_message_complete``,
``on_response_complete``, ``connection_lost``, ``headers``, ``pipeline``, ``loop``,
``transport``) are uvicorn's HttpToolsProtocol's own; pinned in pyproject.toml
(uvicorn < 0.56) and tested by tests/api/test_hostile_serve.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MIN_BYTES_PER_SECOND = 64 * 1024
_CHUNK_CREDIT = 8 * 1024  # bytes of a chunked body that buy another ``seconds``
_LONGEST_BODY = 50_000_000  # the default collector batch limit: its slowest delivery, ~13 minutes


class _Coalescing:
    """A transport whose writes within one turn of the event loop leave as one ``send``.

    uvicorn writes a response's head and body separately: two system calls and, on
    TCP_NODELAY sockets, two segments, each waking the client. Joined, one of each.
    The responses of the requests one loop turn runs thus leave together at its end;
    sending each at its body's write instead measured worse at 50 clients (575-621
    against 664-786 answers a second, p95 141-151 against 116-122 ms; docs/benchmarks/api.md).
    Everything else passes through to the transport. (It lived in the socket-passing
    supervisor before uvicorn's own took over; here it serves every ``cmdb serve``.)
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def with_read_deadline(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol closing connections that do not deliver a request in ``seconds``."""

    class ReadDeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _credit = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(cast(asyncio.Transport, _Coalescing(transport, self.loop)))
            self._arm()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            length = next((v for k, v in self.headers if k == b"content-length"), b"")
            if length.isdigit():  # (a declared length past the API's limits is answered 413 at once)
                self._arm(seconds + min(int(length), _LONGEST_BODY) / MIN_BYTES_PER_SECOND)
            self._credit = 0

        def on_body(self, body: bytes) -> None:
            self._credit += len(body)
            if self._credit >= _CHUNK_CREDIT and not any(k == b"content-length" for k, _ in self.headers):
                self._credit = 0
                self._arm(seconds)  # a chunked body that keeps coming
            super().on_body(body)

        def on_message_complete(self) -> None:
            self._disarm()  # the request is read whole: the app takes it from here
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.pipeline and not self.transport.is_closing():
                self._arm()  # the next request on this keep-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, after: float = seconds) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(after, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return ReadDeadlineProtocol


def configured() -> type[asyncio.Protocol]:
    """The protocol with the API settings' ``read_timeout`` (read when called: in each worker)."""
    from graph_api.settings import get_api_settings

    return with_read_deadline(get_api_settings().read_timeout)


def __getattr__(name: str) -> Any:
    """``WorkerProtocol``: the configured protocol, built when first asked for (by uvicorn, in each
    worker of ``cmdb serve --workers N``, from the import string "cmdb_cli.read_deadline:WorkerProtocol")."""
    if name == "WorkerProtocol":
        return configured()
    raise AttributeError(name)
