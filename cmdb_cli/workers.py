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

Liveness: every second the supervisor pings each ready worker over its channel; the
worker's event loop answers. A worker that has not answered for ``liveness_timeout``
seconds (its loop stuck in a computation, the process frozen) is killed and replaced
like one that died. When each worker last answered, and its pid, are kept in shared
arrays that every worker's ``/healthz`` reports (``liveness()``).
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
_PING = b"p"
_PONG = b"a"
_GRACE_SECONDS = 30
_PING_SECONDS = 1.0


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    channel: socket.socket  # the supervisor's end of the pair
    handed: int = 0  # connections handed to it
    ready: bool = False
    pinged: float = 0.0  # when it was last pinged (time.monotonic)


def serve_workers(workers: int, host: str, port: int, app_factory: Callable[[], Any], log_level: str | None,
                  http: Callable[[], type[asyncio.Protocol]] | None = None, liveness_timeout: float = 20.0,
                  access_log: bool = False) -> None:
    """Serve ``app_factory()``'s app from ``workers`` processes until SIGTERM or SIGINT.

    ``http``: called in each worker for uvicorn's HTTP protocol class (module-level, so it pickles).
    Raises WorkerStartupError when a worker exits before it ever served: the app cannot be built.
    """
    listener = socket.create_server((host, port), backlog=2048)
    listener.setblocking(False)
    context = multiprocessing.get_context("spawn")
    closed = context.Array("q", workers, lock=False)  # connections each worker closed, written by it alone
    # Written by the supervisor alone, read by every worker's /healthz: each worker's pid and when
    # it last answered a ping (time.monotonic: one clock for all processes of the machine).
    shared = _Liveness(context.Array("q", workers, lock=False), context.Array("d", workers, lock=False),
                       liveness_timeout)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    def start(index: int) -> _Worker:
        closed[index] = 0  # no process writes the slot now: the one before is dead, this one not started
        shared.answered[index] = 0.0
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = context.Process(target=_worker_main, name=f"cmdb-worker-{index}",
                                  args=(index, theirs, closed, app_factory, log_level, http, shared, access_log))
        process.start()
        shared.pids[index] = process.pid or 0
        theirs.close()
        ours.settimeout(5)  # a handoff to a stuck worker must not stall every accept
        return _Worker(index, process, ours)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    failed: str | None = None
    pool = [start(i) for i in range(workers)]
    try:
        while not stopping:
            ready = [w for w in pool if w.ready]
            channels = [w.channel for w in pool]  # readiness, then answers to pings
            readable, _, _ = select.select(([listener] if ready else []) + channels, [], [], 0.5)
            now = time.monotonic()
            for worker in pool:
                if worker.channel in readable:
                    _heard(worker, shared, now)
            if listener in readable:
                # New connections go to workers that answered their last pings; a silent one gets
                # none while it may still recover (all of them do, should every worker be silent).
                answering = [w for w in ready if now - shared.answered[w.index] <= 2 * _PING_SECONDS + 0.5]
                _accept(listener, answering or ready, closed)
            for worker in pool:
                _check_liveness(worker, shared, now)
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


@dataclass
class _Liveness:
    """Shared with every worker: each one's pid and when it last answered a ping (0: not yet)."""

    pids: Any  # multiprocessing Array of q
    answered: Any  # multiprocessing Array of d (time.monotonic)
    timeout: float

    def report(self) -> list[dict[str, Any]]:
        """Per worker: index, pid, whether it answers its liveness check, seconds since it last did."""
        now = time.monotonic()
        out = []
        for index, pid in enumerate(self.pids):
            answered = self.answered[index]
            since = round(now - answered, 3) if answered else None
            out.append({"index": index, "pid": pid, "alive": since is not None and since <= self.timeout,
                        "last_answer_s": since})
        return out


_shared: _Liveness | None = None  # in a worker: what the supervisor shares (None outside serve_workers)


def liveness() -> list[dict[str, Any]] | None:
    """In a worker of ``serve_workers``: every worker's liveness (``_Liveness.report``); else None."""
    return _shared.report() if _shared is not None else None


def _heard(worker: _Worker, shared: _Liveness, now: float) -> None:
    """Read what a worker said on its channel: ready, or the answer to a ping."""
    try:
        message = worker.channel.recv(16)
    except (BlockingIOError, TimeoutError, OSError):
        return
    if message == _READY:
        worker.ready = True
        shared.answered[worker.index] = now
    elif message == _PONG:
        shared.answered[worker.index] = now


def _check_liveness(worker: _Worker, shared: _Liveness, now: float) -> None:
    """Ping a ready worker once a second; kill one silent for longer than the timeout (it is then replaced)."""
    if not worker.ready or not worker.process.is_alive():
        return
    silent = now - shared.answered[worker.index]
    if silent > shared.timeout:
        log.error("worker %d (pid %s) has not answered its liveness check for %.1f s; replacing it",
                  worker.index, worker.process.pid, silent)
        worker.process.kill()
        worker.process.join(5)
        return
    if now - worker.pinged >= _PING_SECONDS:
        worker.pinged = now
        with contextlib.suppress(OSError):  # a full channel or a dead worker: the timeout decides
            worker.channel.send(_PING)


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
                 log_level: str | None, http: Callable[[], type[asyncio.Protocol]] | None, shared: _Liveness,
                 access_log: bool = False) -> None:
    import uvicorn

    os.environ["CMDB_WORKER_INDEX"] = str(index)  # the app factory names its log file after it

    global _shared
    _shared = shared  # for liveness(), which the app's /healthz calls

    # log_config=None: uvicorn's lines go through the handler the app factory configures.
    config = uvicorn.Config(app_factory, factory=True, log_level=log_level, lifespan="off", access_log=access_log,
                            log_config=None,
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
        if message == _PING:  # answered from the event loop: a stuck loop does not answer
            with contextlib.suppress(OSError):
                channel.send(_PONG)
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
