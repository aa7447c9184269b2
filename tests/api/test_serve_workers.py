"""``cmdb serve --workers 2`` on uvicorn's supervisor: two real worker processes, each with its own
topology index, agree.

A write made through one worker, and one made by ``cmdb ingest`` in a third process,
are in the very next answer of the other worker (each catches up on the store's change
log before it answers), and each answer says which log position it reflects. Connections
are pinned to a worker by keep-alive; ``/healthz`` names the worker that answered. The
supervisor replaces a worker that dies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cmdb.ingest import Ingestor
from cmdb.observation import Item, dump_item
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema
from tests.api.conftest import child_pids, free_port, wait_for_healthz
from tests.api.estate import seed
from tests.builders import obs, ref, rel

CMDB = [sys.executable, "-m", "cmdb_cli.main"]
IMPACT = "query($u: [ID!]!) { impact(uids: $u) { impacted { name } } }"
CREATE = """mutation($i: JSON!, $a: JSON) { createCi(ciClass: APPLICATION, identifiers: $i, attributes: $a) {
  __typename ... on CIPayload { ci { uid } } } }"""
RELATE = """mutation($s: ID!, $d: ID!) { relate(sourceUid: $s, type: DEPENDS_ON, targetUid: $d) {
  __typename } }"""


def _pinned_clients(url: str, headers: dict[str, str]) -> dict[int, httpx.Client]:
    """One keep-alive client per worker: new connections until both workers have answered one (bounded)."""
    clients: dict[int, httpx.Client] = {}
    for _ in range(60):
        client = httpx.Client(base_url=url, headers=headers, timeout=30)
        worker = client.get("/healthz").json()["worker"]
        if worker in clients:
            client.close()
        else:
            clients[worker] = client
        if len(clients) == 2:
            break
    return clients


def _impacted(client: httpx.Client, uid: str) -> set[str]:
    reply = client.post("/graphql", json={"query": IMPACT, "variables": {"u": [uid]}})
    assert reply.status_code == 200, reply.text
    return {i["name"] for i in reply.json()["data"]["impact"]["impacted"]}


def test_two_workers_see_each_others_writes_and_other_processes_writes(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml"),
           "CMDB_API_RESULT_CACHE_SIZE": "64"}
    env.pop("CMDB_STORE_URL", None)
    schema = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", schema)
    seed(Ingestor(store, schema))
    db_main = next(c.uid for batch in store.iter_cis() for c in batch if c.attributes.get("name") == "db-main")
    created = subprocess.run([*CMDB, "token", "create", "t", "--role", "editor", "--json"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    headers = {"Authorization": f"Bearer {json.loads(created.stdout)['token']}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([*CMDB, "serve", "--port", str(port), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    clients: dict[int, httpx.Client] = {}
    workers: set[int] = set()
    try:
        wait_for_healthz(proc, url, 120, (tmp_path / "serve.log").read_text)
        clients = _pinned_clients(url, headers)
        workers = set(clients)
        # (the server's other child is multiprocessing's resource tracker)
        assert len(workers) == 2 and workers <= child_pids(proc.pid), (workers, child_pids(proc.pid))
        a, b = clients.values()
        before = {"db-main", "shop", "checkout"}
        assert _impacted(a, db_main) == _impacted(b, db_main) == before

        # A manual edit through worker a; worker b's next answer has it.
        made = a.post("/graphql", json={"query": CREATE, "variables": {"i": {"app_id": "app-billing"},
                                                                      "a": {"name": "billing"}}}).json()
        billing = made["data"]["createCi"]["ci"]["uid"]
        related = a.post("/graphql", json={"query": RELATE, "variables": {"s": billing, "d": db_main}}).json()
        assert related["data"]["relate"]["__typename"] == "RelationshipPayload", related
        assert _impacted(b, db_main) == _impacted(a, db_main) == before | {"billing"}

        # `cmdb ingest` in a third process; both workers' next answers have it.
        items = tmp_path / "reports.jsonl"
        batch: list[Item] = [
            obs("application", {"app_id": "app-reports"}, {"name": "reports"}, source="manual", scope="cli"),
            rel("DEPENDS_ON", ref("application", app_id="app-reports"), ref("database", db_id="db-main"),
                source="manual", scope="cli"),
        ]
        items.write_text("\n".join(json.dumps(dump_item(i)) for i in batch) + "\n")
        subprocess.run([*CMDB, "ingest", str(items), "--source", "manual", "--scope", "cli"], env=env,
                       capture_output=True, text=True, timeout=120, check=True)
        assert _impacted(a, db_main) == _impacted(b, db_main) == before | {"billing", "reports"}

        # Every answer says which change-log position it reflects: the store's, once caught up.
        positions = {w: int(c.post("/graphql", json={"query": IMPACT, "variables": {"u": [db_main]}})
                            .headers["x-cmdb-log-position"]) for w, c in clients.items()}
        assert set(positions.values()) == {store.change_feed_position()}, positions

        # A worker that dies is replaced; the other answers meanwhile.
        victim, survivor = sorted(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:
            with httpx.Client(base_url=url, timeout=30) as probe:
                worker = probe.get("/healthz").json()["worker"]
            if worker not in (victim, survivor):
                break
            assert worker == survivor
            assert time.monotonic() < deadline, "no replacement worker within 60 s"
            time.sleep(0.2)
        replacement = {worker}
        workers = workers - {victim} | replacement
    finally:
        for client in clients.values():
            client.close()
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
        store.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers | {proc.pid}), "a worker outlived the server"


def test_workers_that_cannot_start_stop_the_server(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml"),
           "CMDB_API_PAGE_CAP": "0"}  # refused by the API settings each worker reads
    env.pop("CMDB_STORE_URL", None)
    done = subprocess.run([*CMDB, "serve", "--port", str(free_port()), "--workers", "2"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "fail to start" in done.stderr and "page_cap" in done.stderr
