"""The real app under uvicorn on 127.0.0.1, over a temp SQLite store and over Neo4j, seeded through the Ingestor."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cmdb.ingest import Ingestor
from cmdb.store.cypher.store import CypherStore
from cmdb.store.protocol import GraphStore
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from cmdb.topology.follower import ChangeFollower
from graph_api.app import create_app
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.api.estate import seed
from tests.integration.stores.neo4j_fixture import clear_database, neo4j_transport

JOBS = {"aws-prod"}
EXPLODE = "explode-uid"
# What the tests' collector token may write (every other source and scope is refused with 403).
COLLECTOR_BINDING = {"sources": ("aws", "ssh", "sample"),
                     "scopes": ("acct-*", "prec", "cache-test", "poison-*", "conc", "auth-*", "bound-*")}  # a lookup of this uid makes the store fail (to see unexpected errors masked)


class CountingStore:
    """A GraphStore proxy counting calls per method (for the no-N+1 assertions)."""

    def __init__(self, inner: GraphStore) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            if name == "get_cis" and args and EXPLODE in args[0]:
                raise RuntimeError("database disk image is malformed (secret internal detail)")
            return attr(*args, **kwargs)

        return counted

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@dataclass
class Api:
    url: str
    store: CountingStore
    tokens: dict[str, str]
    triggered: list[str] = field(default_factory=list)
    # Another connection to the same database, as another process (cmdb ingest, a replica) has.
    open_store: Callable[[], GraphStore] | None = None

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def gql(self, query: str, variables: dict[str, Any] | None = None, role: str | None = "viewer",
            timeout: float = 30) -> httpx.Response:
        return httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                          headers=self.headers(role), timeout=timeout)

    def data(self, query: str, variables: dict[str, Any] | None = None, role: str = "viewer") -> dict[str, Any]:
        response = self.gql(query, variables, role)
        assert response.status_code == 200, response.text
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def uid(self, text: str) -> str:
        """The uid of the one CI named ``text``."""
        found = self.data("query($t: String!) { cis(filter: {text: $t}, first: 5) { edges { node { uid name } } } }",
                          {"t": text})["cis"]["edges"]
        matches: list[str] = [e["node"]["uid"] for e in found if e["node"]["name"] == text]
        assert len(matches) == 1, found
        return matches[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a thread of this process, on a free 127.0.0.1 port, for the
    block; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name=f"uvicorn-tests-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn exited"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def child_pids(pid: int) -> set[int]:
    """The PIDs of ``pid``'s children (from /proc: their stat's parent field)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def wait_for_healthz(proc: subprocess.Popen[str], url: str, timeout: float, output: Callable[[], str]) -> None:
    """Poll ``url``/healthz until it answers 200; fail with ``output()`` should ``proc`` exit first."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, output()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{proc.args!r} did not come up in {timeout:.0f} s"
        time.sleep(0.2)


@pytest.fixture(scope="session", params=["sqlite", "neo4j"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app over each store kind: SQLite, and the session's Neo4j (emptied first).

    pytest runs every test of one store before those of the next, so nothing
    else clears the Neo4j database while its API tests run.
    """
    tmp: Path = tmp_path_factory.mktemp("api")
    catalog = load_schema()
    inner: GraphStore
    open_store: Callable[[], GraphStore]
    if request.param == "neo4j":
        neo4j = request.getfixturevalue("neo4j_server")
        clear_database(neo4j.url)
        open_store = lambda: CypherStore(neo4j_transport(neo4j), catalog)  # noqa: E731
        inner = open_store()
        inner.init_schema()
    else:
        open_store = lambda: SQLiteStore(tmp / "cmdb.sqlite", catalog)  # noqa: E731
        inner = open_store()
    seed(Ingestor(inner, catalog))
    store = CountingStore(inner)
    # As `cmdb serve` does: the index follows the store's change log, this process's writes included.
    follower = ChangeFollower.load(inner, catalog)
    ingestor = Ingestor(store, catalog, listeners=[follower.after_apply])
    token_store = SQLiteTokenStore(tmp / "tokens.sqlite")
    tokens = TokenService(token_store)
    plain = {role.value: tokens.create(f"test-{role.value}", role, **(COLLECTOR_BINDING if role is Role.COLLECTOR else {}))[1]
             for role in Role}
    plain["approver"] = tokens.create("test-approver", Role.EDITOR)[1]  # a second editor: changes need two people
    revoked_info, plain["revoked"] = tokens.create("revoked", Role.ADMIN)
    tokens.revoke(revoked_info.token_id)
    triggered: list[str] = []

    def trigger(job: str) -> str:
        if job not in JOBS:
            raise KeyError(job)
        triggered.append(job)
        return f"run-{job}-{len(triggered)}"

    app = create_app(store, catalog, token_store,
                     settings=ApiSettings(store_threads=0, min_position_wait_s=1), ingestor=ingestor,
                     trigger_discovery=trigger, change_log=follower,
                     refresh=follower.catch_up if request.param == "sqlite" else None)
    try:
        with served_in_thread(app) as url:
            yield Api(url=url, store=store, tokens=plain, triggered=triggered, open_store=open_store)
    finally:
        inner.close()
        token_store.close()
