"""``cmdb serve --workers N``: a supervisor that accepts, and N uvicorn workers it hands connections to.

With uvicorn's own ``--workers``, every worker accepts from one shared socket and a
keep-alive connection stays with whichever accepted it: 50 clients connecting at once
were split 12/38 and 14/36 between two workers (measured), so one worker's clients
waited three times as long as the other's. Here the supervisor accepts each connection
and hands it (its file descriptor, over a Unix socket pair) to the ready worker with the
fewest open connections; the worker serves it with uvicorn's own HTTP protocol, exactly
as if it had accepted it. Each worker counts the connections it closed in a shared array
(its own slot only), so the supervisor knows every worker's open connections.

The supervisor starts accepting once a worker is ready (its app built, its topology index
loaded), restarts a worker that dies after it served (one that never could means the app
cannot be built: the supervisor stops), and on SIGTERM or SIGINT stops accepting, asks
the workers to finish (SIGTERM: uvicorn's graceful shutdown) and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import select
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger(__name__)

_READY = b"r"
_HANDOFF = b"c"
_GRACE_SECONDS = 30


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    channel: socket.socket  # the supervisor's end of the pair
    handed: int = 0  # connections handed to it
    ready: bool = False


def serve_workers(workers: int, host: str, port: int, app_factory: Callable[[], Any], log_level: str,
                  http: Callable[[], type[asyncio.Protocol]] | None = None) -> None:
    """Serve ``app_factory()``'s app from ``workers`` processes until SIGTERM or SIGINT.

    ``http``: called in each worker for uvicorn's HTTP protocol class (module-level, so it pickles).
    Raises WorkerStartupError when a worker exits before it ever served: the app cannot be built.
    """
    listener = socket.create_server((host, port), backlog=2048)
    listener.setblocking(False)
    context = multiprocessing.get_context("spawn")
    closed = context.Array("q", workers, lock=False)  # connections each worker closed, written by it alone
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    def start(index: int) -> _Worker:
        closed[index] = 0  # no process writes the slot now: the one before is dead, this one not started
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = context.Process(target=_worker_main, name=f"cmdb-worker-{index}",
                                  args=(index, theirs, closed, app_factory, log_level, http))
        process.start()
        theirs.close()
        ours.settimeout(5)  # a handoff to a stuck worker must not stall every accept
        return _Worker(index, process, ours)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    failed: str | None = None
    pool = [start(i) for i in range(workers)]
    try:
        while not stopping:
            ready = [w for w in pool if w.ready]
            waiting = [w.channel for w in pool if not w.ready]
            readable, _, _ = select.select(([listener] if ready else []) + waiting, [], [], 0.5)
            for worker in pool:
                if worker.channel in readable:
                    worker.ready = worker.channel.recv(16) == _READY
            if listener in readable:
                _accept(listener, ready, closed)
            for i, worker in enumerate(pool):
                if worker.process.is_alive() or stopping:
                    continue
                if not worker.ready:  # it never served: the app cannot be built, another would fail the same way
                    failed = f"worker {i} failed to start (exit code {worker.process.exitcode})"
                    stopping = True
                    break
                log.error("worker %d (pid %s) exited with %s; starting another", i, worker.process.pid,
                          worker.process.exitcode)
                worker.channel.close()
                pool[i] = start(i)
    finally:
        listener.close()
        for worker in pool:
            if worker.process.is_alive() and worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _GRACE_SECONDS
        for worker in pool:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.channel.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed is not None:
        raise WorkerStartupError(failed)


class WorkerStartupError(RuntimeError):
    """A worker exited before it could serve (its error is in the log above)."""


def _accept(listener: socket.socket, ready: Sequence[_Worker], closed: Any) -> None:
    """Hand every waiting connection to the ready worker with the fewest open ones (ties: the least handed)."""
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        with conn:
            worker = min(ready, key=lambda w: (w.handed - closed[w.index], w.handed))
            try:
                socket.send_fds(worker.channel, [_HANDOFF], [conn.fileno()])
                worker.handed += 1
            except OSError as exc:  # the worker is gone or stuck: the client sees the connection close
                log.warning("handing a connection to worker %d failed: %s", worker.index, exc)


# -- in each worker -----------------------------------------------------------------------
class _Coalescing:
    """A transport whose writes within one turn of the event loop leave as one ``send``.

    uvicorn writes a response's head and body separately: two system calls and, on
    TCP_NODELAY sockets, two segments, each waking the client. Joined, one of each.
    The responses of the requests one loop turn runs thus leave together at its end;
    sending each at its body's write instead measured worse at 50 clients (575-621
    against 664-786 answers a second, p95 141-151 against 116-122 ms; 23:38-23:43 UTC).
    Everything else passes through to the transport.
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


def _worker_main(index: int, channel: socket.socket, closed: Any, app_factory: Callable[[], Any],
                 log_level: str, http: Callable[[], type[asyncio.Protocol]] | None) -> None:
    import uvicorn

    config = uvicorn.Config(app_factory, factory=True, log_level=log_level, lifespan="off", access_log=False,
                            http=http() if http is not None else "auto")
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve_handed(server, config, index, channel, closed))


async def _serve_handed(server: Any, config: Any, index: int, channel: socket.socket, closed: Any) -> None:
    """Run the uvicorn server without a socket of its own; serve the connections the supervisor hands over."""
    serving = asyncio.ensure_future(server.serve(sockets=[]))
    while not server.started:
        if serving.done():
            await serving  # it failed to start: its error ends this worker
            return
        await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    adopting: set[asyncio.Future[Any]] = set()

    def protocol() -> asyncio.Protocol:
        proto: Any = config.http_protocol_class(config=config, server_state=server.server_state,
                                                app_state=server.lifespan.state)
        made, lost = proto.connection_made, proto.connection_lost

        def connection_made(transport: asyncio.Transport) -> None:
            made(_Coalescing(transport, loop))

        def connection_lost(exc: Exception | None) -> None:
            closed[index] += 1
            lost(exc)

        proto.connection_made, proto.connection_lost = connection_made, connection_lost
        return proto  # type: ignore[no-any-return]

    def handed() -> None:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 16, 4)
        except BlockingIOError:
            return
        if not message:  # the supervisor is gone
            loop.remove_reader(channel.fileno())
            server.should_exit = True
            return
        for fd in fds:
            conn = socket.socket(fileno=fd)
            conn.setblocking(False)
            future = asyncio.ensure_future(loop.connect_accepted_socket(protocol, conn))
            adopting.add(future)
            future.add_done_callback(adopting.discard)

    channel.setblocking(False)
    loop.add_reader(channel.fileno(), handed)
    with contextlib.suppress(OSError):
        channel.send(_READY)
    try:
        await serving
    finally:
        loop.remove_reader(channel.fileno())
