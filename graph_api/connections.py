"""Keep-alive connections closed after a number of requests, so several workers share the load.

With ``cmdb serve --workers N`` the kernel hands each new connection to whichever worker
accepts first, and a keep-alive connection then stays with that worker: 50 clients that
connect at once were split 14/36 between two workers (measured, docs/benchmarks/api.md),
and the busier one's clients waited more than twice as long. Closing a connection after
``max_requests`` answers (``Connection: close`` on the last one, as nginx's
``keepalive_requests`` does) makes clients reconnect now and then; a worker with fewer
connections gets back to its accept loop sooner and takes more of the new ones.
"""

from __future__ import annotations

from typing import Any

_BOUND = 10_000  # connections tracked; past it the counts start over (a few connections close late)


class ConnectionRecycler:
    """ASGI middleware: the ``max_requests``-th request on an HTTP/1.1 connection gets ``Connection: close``."""

    def __init__(self, app: Any, max_requests: int) -> None:
        self._app = app
        self._max = max_requests
        self._served: dict[Any, int] = {}  # (client host, port) -> requests answered on it

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        if client is None or scope.get("http_version") != "1.1":
            await self._app(scope, receive, send)
            return
        key = (client[0], client[1])
        served = self._served.pop(key, 0) + 1
        if served < self._max:
            if len(self._served) >= _BOUND:
                self._served.clear()
            self._served[key] = served
            await self._app(scope, receive, send)
            return

        async def closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        await self._app(scope, receive, closing)
