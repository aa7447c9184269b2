"""``cmdb serve --workers N`` on uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``).

The supervisor binds one socket that every worker accepts from, restarts a worker that
dies or stops answering its health check (a frozen process), stops when a worker fails
before it could serve (the app cannot be built), and on SIGTERM or SIGINT asks the
workers to finish. Each worker builds the app from the options in its environment,
loads its own topology index and follows the store's change log
(``cmdb_cli.api.worker_app``).

Two things uvicorn does not do are added here, inside each worker:

- its health check is answered by a thread, so a worker whose *event loop* is stuck
  (a computation that never yields) still looks healthy to it: a watchdog thread asks
  the loop for a heartbeat every second and ends the process when the loop has not
  answered for ``liveness_timeout`` seconds; the supervisor then starts another;
- ``/healthz`` reports every worker's liveness (``liveness()``): each worker writes when
  its loop last answered into a file of a directory shared by the workers (named after
  its pid); a file whose process is gone is removed by the next reader.

Connections are not balanced between workers: a keep-alive connection stays with the
worker that accepted it (50 clients connecting at once: 34/16). In production a load
balancer in front of single-worker replicas spreads requests (docs/deployment.md, "N
workers on one machine"); measured against the old supervisor in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LIVENESS_DIR = "CMDB_SERVE_LIVENESS_DIR"  # set by the supervisor process for its workers
LIVENESS_TIMEOUT = "CMDB_SERVE_LIVENESS_TIMEOUT"
_BEAT_SECONDS = 1.0
_HEALTHCHECK_FLOOR = 30  # seconds: uvicorn's health check of a worker process (frozen, or not yet started)


def serve_workers(workers: int, host: str, port: int, app: str, log_level: str | None, http: str,
                  liveness_timeout: float, access_log: bool) -> None:
    """Serve the app factory ``app`` ("module:function") from ``workers`` uvicorn worker processes.

    Returns on SIGTERM or SIGINT once the workers have finished. Raises WorkerStartupError when
    a worker exited before it could serve (its error is in the log above).
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # The supervisor's health check also covers a worker's start (its answering thread starts once
    # the spawned interpreter has imported uvicorn): under heavy load that took over 3 s here, and a
    # short timeout then killed every new worker in turn. A stuck event loop is the watchdog's.
    config = uvicorn.Config(app, factory=True, host=host, port=port, workers=workers, log_level=log_level,
                            lifespan="off", access_log=access_log, log_config=None, http=http,
                            timeout_worker_healthcheck=max(_HEALTHCHECK_FLOOR, round(liveness_timeout)))
    sock = socket.create_server((host, port), backlog=config.backlog)
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        sock.close()
    failed = [p for p in supervisor.processes if p.process.exitcode == STARTUP_FAILURE]
    if failed:
        raise WorkerStartupError(f"worker pid {failed[0].pid} failed to start (exit code {STARTUP_FAILURE})")


class WorkerStartupError(RuntimeError):
    """A worker exited before it could serve (its error is in the log above)."""


# -- in each worker -----------------------------------------------------------------------
def start_watchdog(loop: asyncio.AbstractEventLoop) -> None:
    """In a worker of ``serve_workers`` (its liveness directory set): watch this process's event loop."""
    directory = os.environ.get(LIVENESS_DIR)
    if not directory:
        return
    timeout = float(os.environ.get(LIVENESS_TIMEOUT, "20"))
    path = Path(directory) / str(os.getpid())
    answered = [time.monotonic()]

    def beat() -> None:  # runs on the event loop: only a loop that turns answers
        answered[0] = time.monotonic()

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(_BEAT_SECONDS):
            if loop.is_closed():
                return
            silent = time.monotonic() - answered[0]
            _write(path, answered[0])
            if silent > timeout:
                log.error("worker pid %d: its event loop has not answered its liveness check for %.1f s; "
                          "exiting so that the supervisor starts another", os.getpid(), silent)
                os._exit(70)  # the loop is stuck: nothing orderly can run; the store's writes are transactions
            loop.call_soon_threadsafe(beat)

    _write(path, answered[0])
    threading.Thread(target=watch, name="cmdb-liveness", daemon=True).start()


def _write(path: Path, answered: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(repr(answered))
    tmp.replace(path)  # readers see the old value or the new, never half


def liveness() -> list[dict[str, Any]] | None:
    """In a worker of ``serve_workers``: every worker's pid, whether its event loop answers, and
    the seconds since it last did; None outside ``serve_workers``."""
    directory = os.environ.get(LIVENESS_DIR)
    if not directory:
        return None
    timeout = float(os.environ.get(LIVENESS_TIMEOUT, "20"))
    now = time.monotonic()
    out = []
    for entry in sorted(Path(directory).iterdir()):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if not _running(pid):
            entry.unlink(missing_ok=True)  # that worker is gone (the supervisor replaced it)
            continue
        try:
            answered = float(entry.read_text())
        except (OSError, ValueError):
            continue
        since = round(now - answered, 3)
        out.append({"pid": pid, "alive": since <= timeout, "last_answer_s": since})
    return out


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (killed, not yet reaped by the supervisor)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
