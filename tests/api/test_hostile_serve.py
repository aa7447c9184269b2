"""Hostile requests against ``cmdb serve --workers 2`` over real HTTP.

Each hostile request is refused with the error that names its limit, while ``/healthz``
and a small query keep being answered (each with a bounded wait: an httpx timeout, not
a timing assertion; the durations are printed) and no worker's peak RSS reaches 1 GB.
Malformed bodies get 400, refusals are logged as one line at info level, and
half-open connections are closed by the server's read deadline.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema
from tests.api.conftest import child_pids, free_port, wait_for_healthz
from tests.api.estate import seed

CMDB = [sys.executable, "-m", "cmdb_cli.main"]
READ_TIMEOUT = 2  # seconds: CMDB_API_READ_TIMEOUT of the server under test
BOUND = 10.0  # seconds a healthy answer may take on this shared machine (a bound, not a measure)
SMALL = '{ ci(uid: "none") { uid } }'
GIB = 1 << 30


@dataclass
class Served:
    url: str
    headers: dict[str, str]
    pid: int
    log: Path
    workers: set[int] = field(default_factory=set)


def _peak_rss(pid: int) -> int:
    """VmHWM (peak resident set) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("hostile-serve")
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp), "CMDB_JOBS_FILE": str(tmp / "absent.yaml"),
           "CMDB_API_READ_TIMEOUT": str(READ_TIMEOUT)}
    env.pop("CMDB_STORE_URL", None)
    catalog = load_schema()
    store = SQLiteStore(tmp / "cmdb.sqlite", catalog)
    seed(Ingestor(store, catalog))
    store.close()
    created = subprocess.run([*CMDB, "token", "create", "t", "--role", "viewer", "--json"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    headers = {"Authorization": f"Bearer {json.loads(created.stdout)['token']}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen([*CMDB, "--log-level", "info", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        wait_for_healthz(proc, url, 120, log_path.read_text)
        yield Served(url, headers, proc.pid, log_path)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def _small_query_answered(s: Served) -> float:
    start = time.perf_counter()
    r = httpx.post(f"{s.url}/graphql", json={"query": SMALL}, headers=s.headers, timeout=BOUND)
    assert r.status_code == 200 and r.json()["data"] == {"ci": None} and "errors" not in r.json(), r.text
    assert httpx.get(f"{s.url}/healthz", timeout=BOUND).json()["status"] == "ok"
    return time.perf_counter() - start


class _Monitor:
    """Asks /healthz and the small query in a loop while hostile requests run; keeps the longest wait."""

    def __init__(self, s: Served) -> None:
        self.served = s
        self.longest = 0.0
        self.answers = 0
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.longest = max(self.longest, _small_query_answered(self.served))
                self.answers += 1
            except BaseException as exc:  # reported after the hostile requests
                self.failure = exc
                return

    def __enter__(self) -> _Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=BOUND * 2)


def _workers(s: Served) -> set[int]:
    # the supervisor's children: its two workers and multiprocessing's resource tracker
    return {pid for pid in child_pids(s.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


def _fragment_bomb(levels: int) -> str:
    frags = ["fragment F0 on Query { a: __typename }"]
    frags += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ ...F{levels} }}\n" + "\n".join(frags)


NESTED_NEIGHBOURS = ('{ ci(uid: "x") { neighbours { ci { neighbours { ci { neighbours { ci { neighbours '
                     '{ otherUid } } } } } } } } }')
FIFTY_IMPACTS = "{ " + " ".join(f'i{i}: impact(uids: ["x"]) {{ impacted {{ uid path {{ uid }} }} }}'
                                for i in range(50)) + " }"


@pytest.mark.parametrize(("query", "expect"), [
    (_fragment_bomb(40), "is too expensive"),
    (NESTED_NEIGHBOURS, "is too expensive"),
    (FIFTY_IMPACTS, "asks for 50 analyses"),
], ids=["fragment-bomb-40", "nested-neighbours-without-first", "fifty-aliased-impacts"])
def test_hostile_query_refused_while_the_server_answers(served: Served, query: str, expect: str) -> None:
    with _Monitor(served) as monitor:
        refusals = []
        for _ in range(4):  # twice per worker, as the supervisor spreads new connections
            start = time.perf_counter()
            r = httpx.post(f"{served.url}/graphql", json={"query": query}, headers=served.headers, timeout=BOUND)
            refusals.append(time.perf_counter() - start)
            body = r.json()
            assert body.get("data") is None, body
            assert expect in " ".join(e["message"] for e in body["errors"]), body
        _small_query_answered(served)
    assert monitor.failure is None, monitor.failure
    workers = _workers(served)
    assert len(workers) == 2, workers  # --workers 2, none replaced
    peaks = {pid: _peak_rss(pid) for pid in workers}
    assert all(peak < GIB for peak in peaks.values()), peaks
    print(f"\nrefused in {max(refusals) * 1000:.0f} ms at most; small query/healthz longest wait "
          f"{monitor.longest * 1000:.0f} ms over {monitor.answers} answers; peak RSS MB "
          f"{sorted(p >> 20 for p in peaks.values())}")


@pytest.mark.parametrize(("body", "expect"), [
    (b'{"query": "{ __typename }", "operationName": 5}', "`operationName` must be a string"),
    (b'"{ __typename }"', "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b'{"query": "{ __typename }", "variables": {"a": "\xff\xfe"}}', "Unable to parse request body as JSON"),
    (b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
     "Unable to parse request body as JSON"),
    (b"[" * 20_000 + b"]" * 20_000, "Unable to parse request body as JSON"),
], ids=["operation-name-not-a-string", "bare-json-string", "json-null", "non-utf8", "deep-variables", "deep-body"])
def test_malformed_request_is_a_400(served: Served, body: bytes, expect: str) -> None:
    r = httpx.post(f"{served.url}/graphql", content=body,
                   headers={**served.headers, "content-type": "application/json"}, timeout=BOUND)
    assert r.status_code == 400, (r.status_code, r.text)
    assert expect in r.text, r.text
    _small_query_answered(served)


def test_refusals_are_logged_as_one_line_at_info(served: Served) -> None:
    marker = "refusalMarker7f3a"
    before = served.log.read_text()
    for i in range(3):
        r = httpx.post(f"{served.url}/graphql", json={"query": f"{{ {marker}{i} }}"}, headers=served.headers,
                       timeout=BOUND)
        assert "Cannot query field" in r.text
    deadline = time.monotonic() + BOUND
    while True:  # the workers' stderr reaches the file when they write it; bounded wait
        new = served.log.read_text()[len(before):]
        lines = [line for line in new.splitlines() if marker in line]
        if len(lines) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(lines) == 3, new
    assert all("request refused" in line and "info" in line.lower() for line in lines), lines
    assert "Traceback" not in new, new


def test_half_open_connections_are_closed_and_do_not_stop_answers(served: Served) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    held: list[socket.socket] = []
    try:
        for i in range(2000):
            sock = socket.create_connection((host, int(port)), timeout=BOUND)
            if i % 3 == 1:  # a head never finished
                sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n")
            elif i % 3 == 2:  # a body never finished
                sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                             b"Content-Type: application/json\r\n\r\n{\"query\": ")
            held.append(sock)
        waited = _small_query_answered(served)
        # every held connection is closed by the server once the read deadline passes
        still_open = set(held)
        with selectors.DefaultSelector() as selector:  # epoll: select() stops at 1,024 descriptors
            for sock in held:
                selector.register(sock, selectors.EVENT_READ)
            deadline = time.monotonic() + READ_TIMEOUT + 60
            while still_open and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=1.0):
                    ready = key.fileobj
                    assert isinstance(ready, socket.socket)
                    try:
                        data = ready.recv(4096)
                    except ConnectionResetError:
                        data = b""
                    if not data:  # closed by the server
                        selector.unregister(ready)
                        still_open.discard(ready)
        assert not still_open, f"{len(still_open)} of 2000 half-open connections still open"
        print(f"\nsmall query with 2000 half-open connections held: {waited * 1000:.0f} ms")
    finally:
        for sock in held:
            sock.close()
    _small_query_answered(served)
