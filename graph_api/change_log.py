"""The change-log position on the HTTP edge: what an answer reflects, and read-your-writes across replicas.

A GraphQL answer carries, under ``extensions.changeLog.position``, the store's change-log
position this process's topology index had reached when the request came in: the answer
reflects at least every change up to it. Every response carries ``X-Cmdb-Log-Position``:
the position reached when the response started, which includes every change the request
itself wrote (a mutation, a collector batch: this process's own writes are caught up
before it answers). A client that wrote through one replica (or knows a scheduler's
write) sends that position as ``X-Cmdb-Min-Position`` to any replica, or inside the
GraphQL request as ``{"extensions": {"changeLog": {"minPosition": N}}}`` (the mirror of the
answer's ``extensions.changeLog.position``): the replica catches up first, waiting at most
``min_position_wait_s``, and otherwise refuses with HTTP 503 and ``POSITION_NOT_REACHED``
(the client retries, or goes to another replica).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import orjson

POSITION_HEADER = "x-cmdb-log-position"
MIN_POSITION_HEADER = b"x-cmdb-min-position"
SCOPE_KEY = "cmdb.log_position"  # the position a request saw, for the GraphQL body's extensions


class LogFollower(Protocol):
    """What the edge needs of a change-log follower (``cmdb.topology.follower.ChangeFollower``)."""

    position: int

    def catch_up(self) -> int: ...

    def wait_for(self, position: int, timeout: float, interval: float = 0.02) -> bool: ...


def position_of(scope: Any) -> int | None:
    """The change-log position the request saw (None for a request that did not pass ``Following``)."""
    value = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
    return value if isinstance(value, int) else None


class Following:
    """ASGI middleware: catch up (``refresh``) and honour ``X-Cmdb-Min-Position`` before the app;
    stamp the position on the response."""

    def __init__(self, app: Any, follower: LogFollower, refresh: Callable[[], object] | None,
                 max_wait: float) -> None:
        self._app = app
        self._follower = follower
        self._refresh = refresh
        self._max_wait = max_wait

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self._refresh is not None:
            self._refresh()
        follower = self._follower
        wanted = _min_position(scope)
        if isinstance(wanted, str):
            await _refuse(send, 400, bad_position(wanted))
            return
        if wanted is not None and not await reach(follower, wanted, self._max_wait):
            await _refuse(send, 503, not_reached(follower, wanted, self._max_wait))
            return
        scope[SCOPE_KEY] = follower.position

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                stamp = (POSITION_HEADER.encode(), str(follower.position).encode())
                message = {**message, "headers": [*message.get("headers", []), stamp]}
            await send(message)

        await self._app(scope, receive, stamped)


def _min_position(scope: Any) -> int | str | None:
    """The header's position, None without one, or the error text for a malformed one."""
    for name, value in scope.get("headers", ()):
        if name == MIN_POSITION_HEADER:
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                return f"X-Cmdb-Min-Position must be a change-log position (a non-negative integer), not {text[:40]!r}"
            return int(text)
    return None


def requested_position(extensions: object) -> int | str | None:
    """The position a GraphQL request's ``extensions`` ask for (``{"changeLog": {"minPosition": N}}``),
    None when they ask for none, or the error text for a malformed one."""
    if not isinstance(extensions, dict) or "changeLog" not in extensions:
        return None
    change_log = extensions["changeLog"]
    if not isinstance(change_log, dict) or set(change_log) - {"minPosition"}:
        return 'extensions.changeLog must be an object {"minPosition": N}'
    wanted = change_log.get("minPosition")
    # bool is an int in Python, and 2**63 or more is beyond any store's position
    if wanted is None or isinstance(wanted, bool) or not isinstance(wanted, int) or not 0 <= wanted < 2 ** 63:
        return ("extensions.changeLog.minPosition must be a change-log position (a non-negative integer), "
                f"not {str(orjson.dumps(wanted), 'utf-8')[:40]}")
    return wanted


async def reach(follower: LogFollower, wanted: int, max_wait: float) -> bool:
    """Whether ``follower`` is at ``wanted`` or gets there within ``max_wait`` seconds."""
    if follower.position >= wanted:
        return True
    # Off the event loop: catching up on a network store is a round trip or more.
    return await asyncio.to_thread(follower.wait_for, wanted, max_wait)


def bad_position(message: str) -> dict[str, Any]:
    """The body of the 400 for a malformed minimum position."""
    return {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}


def not_reached(follower: LogFollower, wanted: int, max_wait: float) -> dict[str, Any]:
    """The body of the 503 for a minimum position not reached in time (answered with ``Retry-After: 1``)."""
    return {"errors": [{
        "message": f"this server has reached change-log position {follower.position}, not {wanted}, within "
                   f"{max_wait:g} s; retry, or ask another replica",
        "extensions": {"code": "POSITION_NOT_REACHED", "position": follower.position, "minPosition": wanted}}]}


async def _refuse(send: Any, status: int, error: dict[str, Any]) -> None:
    body = orjson.dumps(error)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
