"""``cmdb serve --workers 2``: a worker that stops answering its liveness check is replaced.

The faults are real: a worker process frozen with SIGSTOP (uvicorn's own health check then
goes unanswered), and a worker whose event loop alone is stuck while its threads run (only
the per-worker watchdog sees that). For the frozen one: ``/healthz``, answered by the other worker,
reports every worker's liveness (each worker's event loop beats into a shared directory);
the frozen one shows as not alive, then uvicorn's supervisor, whose health check the
frozen process no longer answers, kills it and starts a new worker that answers. Waits
are bounded polls, not timing assertions.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from tests.api.conftest import free_port, wait_for_healthz

CMDB = [sys.executable, "-m", "cmdb_cli.main"]
TIMEOUT = 3  # CMDB_SERVE_LIVENESS_TIMEOUT of the server under test


def _health(url: str) -> dict[str, Any]:
    with httpx.Client(timeout=10) as client:  # a new connection each time: either worker may answer
        return client.get(f"{url}/healthz").json()  # type: ignore[no-any-return]


def _poll(url: str, until: Any, bound: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + bound
    while True:
        try:
            health = _health(url)
        except httpx.TransportError:  # a connection handed to the frozen worker before it fell silent
            health = {}
        if health and until(health):
            return health
        assert time.monotonic() < deadline, health
        time.sleep(0.2)


@contextlib.contextmanager
def _two_workers(tmp_path: Path) -> Iterator[tuple[str, int, Path, dict[str, Any]]]:
    """``cmdb serve --workers 2`` on an embedded store in ``tmp_path``, both workers alive:
    (url, port, the server's log, the /healthz answer that showed them). Stopped with SIGTERM on exit, which it must
    survive cleanly (exit 0) when the block did."""
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml"),
           "CMDB_SERVE_LIVENESS_TIMEOUT": str(TIMEOUT)}
    env.pop("CMDB_STORE_URL", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen([*CMDB, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        wait_for_healthz(proc, url, 120, log_path.read_text)
        yield url, port, log_path, _poll(
            url, lambda h: len(h["workers"]) == 2 and all(w["alive"] for w in h["workers"]))
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert proc.returncode == 0, log_path.read_text()


def test_a_frozen_worker_is_reported_and_replaced(tmp_path: Path) -> None:
    with _two_workers(tmp_path) as (url, _, _, health):
        pids = {w["pid"] for w in health["workers"]}
        assert health["worker"] in pids
        frozen = min(pids)
        try:
            os.kill(frozen, signal.SIGSTOP)
            # The other worker answers and reports the frozen one as not alive, or already replaced:
            # the supervisor kills it as soon as it is found silent, so that state can be brief
            # (the log line checked below says it was found silent, whichever state a poll saw).
            seen = _poll(url, lambda h: any(w["pid"] == frozen and not w["alive"] for w in h["workers"])
                         or frozen not in {w["pid"] for w in h["workers"]})
            assert seen["worker"] != frozen
            # ... which is then killed and replaced by a new worker that answers its checks.
            replaced = _poll(url, lambda h: frozen not in {w["pid"] for w in h["workers"]}
                             and len(h["workers"]) == 2 and all(w["alive"] for w in h["workers"]))
            new = {w["pid"] for w in replaced["workers"]} - pids
            assert len(new) == 1, replaced
            _poll(url, lambda h: h["worker"] in new)  # the replacement serves requests
            assert not Path(f"/proc/{frozen}").exists() or "Z" in Path(f"/proc/{frozen}/stat").read_text().split()[2]
        finally:
            if Path(f"/proc/{frozen}").exists():
                os.kill(frozen, signal.SIGCONT)


def test_a_worker_whose_event_loop_is_stuck_is_ended_and_replaced(tmp_path: Path) -> None:
    """The loop is stuck for real, the process not: a request reads the token database on the
    worker's event loop (a local SQLite read), and another process holds that file locked
    (``BEGIN EXCLUSIVE``, as an operator's sqlite3 shell or a backup left in a transaction
    would), so the read waits in SQLite's busy handler (30 s) on the loop's thread. The
    worker's threads go on, uvicorn's health check (answered by a thread) too: only the
    watchdog, whose heartbeat runs on the loop, can see it."""
    tokens_path = tmp_path / "tokens.sqlite"
    token_store = SQLiteTokenStore(tokens_path)
    token = TokenService(token_store).create("viewer", Role.VIEWER)[1]
    token_store.close()
    query = {"query": "{ cis(first: 1) { edges { node { uid } } } }"}
    auth = {"Authorization": f"Bearer {token}"}
    with _two_workers(tmp_path) as (url, port, log_path, health):
        pids = {w["pid"] for w in health["workers"]}
        lock = sqlite3.connect(tokens_path, isolation_level=None, timeout=30)
        stuck: socket.socket | None = None
        try:
            assert httpx.post(f"{url}/graphql", json=query, headers=auth, timeout=30).status_code == 200

            lock.execute("BEGIN EXCLUSIVE")
            # One authenticated request on its own connection: the worker that accepts it blocks in
            # the token read. (Its answer never comes: the worker is ended first.)
            stuck = socket.create_connection(("127.0.0.1", port), timeout=60)
            body = json.dumps(query).encode()
            stuck.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            # /healthz needs no token: the other worker answers it, then the stuck one is gone.
            gone = _poll(url, lambda h: not pids <= {w["pid"] for w in h["workers"] if w["alive"]}
                         and "has not answered its liveness check" in log_path.read_text())
            [ended] = [pid for pid in pids
                       if f"worker pid {pid}: its event loop has not answered" in log_path.read_text()]
            assert gone["worker"] != ended
            with contextlib.suppress(ConnectionResetError):  # closed with its process: FIN, or RST
                assert stuck.recv(1024) == b""
            lock.execute("ROLLBACK")

            # uvicorn's supervisor starts another worker; both answer, and GraphQL answers again.
            replaced = _poll(url, lambda h: ended not in {w["pid"] for w in h["workers"]}
                             and len(h["workers"]) == 2 and all(w["alive"] for w in h["workers"]))
            new = {w["pid"] for w in replaced["workers"]} - pids
            assert len(new) == 1 and {w["pid"] for w in replaced["workers"]} == (pids - {ended}) | new, replaced
            _poll(url, lambda h: h["worker"] in new)  # the replacement serves requests
            answer = httpx.post(f"{url}/graphql", json=query, headers=auth, timeout=30)
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        finally:
            if lock.in_transaction:
                lock.execute("ROLLBACK")
            lock.close()
            if stuck is not None:
                stuck.close()


def test_a_single_worker_reports_no_worker_list(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml")}
    env.pop("CMDB_STORE_URL", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([*CMDB, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for_healthz(proc, url, 120, lambda: "")
        health = _health(url)
        assert "workers" not in health and health["worker"] == proc.pid, json.dumps(health)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
