"""Scale-out with real processes: Debian's nginx in front of three ``cmdb serve`` replicas on one
Neo4j store, a scheduler process and two remote collectors writing at the same time.

Every replica answers impact for a change written through another replica (a collector's
batch, through nginx) or by the scheduler, as soon as it is asked for that change-log
position (``X-Cmdb-Min-Position``), and within 1 s without being asked (a bounded wait on
the answer, no other timing). The expected answers are exact: computed from a fresh
topology index loaded from the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import pytest

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.store.cypher.store import CypherStore
from cmdb.topology import TopologyIndex
from schema import load_schema
from tests.api.scaleout import CMDB, nginx_in_front, replicas, stop
from tests.integration.stores.neo4j_fixture import clear_database, neo4j_transport

# Real processes on a shared 2-core machine: starting Neo4j, three replicas and nginx takes minutes under load.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

IMPACT = "query($u: [ID!]!) { impact(uids: $u) { impacted { uid name } } }"
BATCHES = 8
UNASKED_BOUND = 1.0  # seconds: a replica not asked for a position shows a committed change within this


def _token(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*CMDB, "token", "create", *args, "--json"], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return str(json.loads(done.stdout)["token"])


_HTTP: list[httpx.Client] = []  # one keep-alive client for the test's own requests


def _impact(url: str, token: str, uid: str, min_position: int | None = None) -> tuple[set[str], int]:
    headers = {"Authorization": f"Bearer {token}"}
    if min_position is not None:
        headers["X-Cmdb-Min-Position"] = str(min_position)
    if not _HTTP:
        _HTTP.append(httpx.Client())
    reply = _HTTP[0].post(f"{url}/graphql", json={"query": IMPACT, "variables": {"u": [uid]}}, headers=headers,
                       timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert not body.get("errors"), body
    return {i["uid"] for i in body["data"]["impact"]["impacted"]}, body["extensions"]["changeLog"]["position"]


def _impacted(url: str, token: str, uid: str) -> set[str]:
    return _impact(url, token, uid)[0]


def _within(bound: float, answer: Callable[[], set[str]], expected: set[str]) -> set[str]:
    """Ask until the answer is ``expected`` or ``bound`` seconds passed; the last answer."""
    deadline = time.monotonic() + bound
    while True:
        got = answer()
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


def _expected(store: CypherStore, uid: str) -> set[str]:
    """The impact of ``uid`` on a topology index freshly loaded from the store."""
    schema = load_schema()
    report = ImpactService(TopologyIndex.load(store, schema), schema).impact(ImpactRequest((uid,)))
    return {c.uid for c in report.impacted}


def _uid(store: CypherStore, ci_class: str, name: str) -> str:
    found = [ci.uid for batch in store.iter_cis() for ci in batch
             if ci.ci_class == ci_class and ci.attributes.get("name") == name]
    assert len(found) == 1, (ci_class, name, found)
    return found[0]


def test_three_replicas_behind_nginx_follow_every_writer(tmp_path: Path, neo4j_server: object) -> None:
    url = neo4j_server.url  # type: ignore[attr-defined]
    clear_database(url)
    store = CypherStore(neo4j_transport(neo4j_server), load_schema())  # type: ignore[arg-type]
    store.init_schema()
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - {name: estate, scanner: sample, schedule: {interval: 3}, options: {apps: 2}}\n")
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "none.yaml")}
    env.pop("CMDB_STORE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    viewer = _token(env, "viewer", "--role", "viewer")
    collectors = {name: _token(env, name, "--role", "collector", "--source", "aws", "--scope", name)
                  for name in ("col-a", "col-b")}
    background: list[subprocess.Popen[str]] = []
    try:
        with replicas(3, url, tmp_path, env) as urls, nginx_in_front(urls, tmp_path / "nginx") as front:
            # The scheduler and both collectors start together and write concurrently.
            scheduler_log = (tmp_path / "scheduler.log").open("w")
            background.append(subprocess.Popen([*CMDB, "scheduler", "--jobs", str(jobs), "--store", url], env=env,
                                               stdout=scheduler_log, stderr=subprocess.STDOUT, text=True))
            feeds = {name: subprocess.Popen([sys.executable, "-m", "tests.api.scaleout_collector", front, token,
                                             name, str(BATCHES)], env={**env, "PYTHONPATH": os.getcwd()},
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                     for name, token in collectors.items()}
            background.extend(feeds.values())

            # Each collector batch, written through whichever replica nginx chose: every replica,
            # asked for the position that write reported, has it (and the batches before it).
            for name, proc in feeds.items():
                out, _ = proc.communicate(timeout=600)
                assert proc.returncode == 0, out
                batches = [json.loads(line) for line in out.splitlines()]
                assert [b["batch"] for b in batches] == list(range(BATCHES)), out
                db = _uid(store, "database", f"{name}-db")
                buckets = [_uid(store, "bucket", f"{name}-b{i}") for i in range(BATCHES)]
                for i, written in enumerate(batches):
                    for replica in urls:
                        impacted, position = _impact(replica, viewer, db, written["position"])
                        assert position >= written["position"]
                        # (an impact answer lists the CI assumed down too, at depth 0)
                        assert {db, *buckets[: i + 1]} <= impacted <= {db, *buckets}, (replica, i)
                assert _expected(store, db) == {db, *buckets}

            # The scheduler's first complete execution, from its own process: found in the store,
            # then asked of every replica at the store's position, and unasked within the bound.
            # Wait for the job run (scope job:estate), not any run of source "sample": the estate
            # is several scopes (business, one per account, hosts, onprem), each recorded complete
            # as it is written, and the first (business) holds no database. The job run is closed
            # after the last scope, complete only if every scope was.
            deadline = time.monotonic() + 300
            while not any(r.status.value == "complete"
                          for r in store.list_runs(source="sample", scope="job:estate", limit=50)):
                assert background[0].poll() is None, (tmp_path / "scheduler.log").read_text()
                assert time.monotonic() < deadline, "no complete scheduler job run in 300 s"
                time.sleep(0.2)
            position = store.change_feed_position()
            cis = [ci for b in store.iter_cis() for ci in b]
            sample_dbs = {ci.uid: str(ci.attributes.get("db_id", "")) for ci in cis if ci.ci_class == "database"
                          and str(ci.attributes.get("db_id", "")).startswith("db-")}
            # one per app of the sample estate (apps: 2)
            assert sorted(sample_dbs.values()) == ["db-00000", "db-00001"], sample_dbs
            roots = sorted(sample_dbs)
            for uid in roots:
                expected = _expected(store, uid)
                assert len(expected) > 1, uid  # itself, and its application that depends on it
                for replica in urls:
                    assert _within(UNASKED_BOUND, partial(_impacted, replica, viewer, uid), expected) \
                        == expected, replica
                    assert _impact(replica, viewer, uid, position)[0] == expected

            # A change written through one replica directly: the two others, not asked for its
            # position, answer with it within the bound; asked for it, at once.
            token = collectors["col-a"]
            reply = _HTTP[0].post(f"{urls[0]}/api/v1/collect", headers={"Authorization": f"Bearer {token}"},
                               timeout=60, json={"source": "aws", "scope": "col-a", "complete": False, "items": [
                                   {"class": "bucket", "source": "aws", "scope": "col-a",
                                    "identifiers": {"bucket_name": "col-a-late"}, "attributes": {"name": "col-a-late"}},
                                   {"kind": "rel", "type": "DEPENDS_ON", "source": "aws", "scope": "col-a",
                                    "from": {"class": "bucket", "identifiers": {"bucket_name": "col-a-late"}},
                                    "to": {"class": "database", "identifiers": {"db_id": "col-a-db"}}}]})
            assert reply.status_code == 200, reply.text
            written_at = int(reply.headers["x-cmdb-log-position"])
            db = _uid(store, "database", "col-a-db")
            expected = _expected(store, db)
            assert _uid(store, "bucket", "col-a-late") in expected
            for replica in urls[1:]:
                assert _within(UNASKED_BOUND, partial(_impacted, replica, viewer, db), expected) == expected
            for replica in urls:
                assert _impact(replica, viewer, db, written_at)[0] == expected
            # nginx spread the load: every replica served requests through it.
            served = {httpx.get(f"{front}/healthz", timeout=10).json()["worker"] for _ in range(30)}
            assert len(served) == 3, served
    finally:
        for proc in background:
            stop(proc)
        store.close()
        while _HTTP:
            _HTTP.pop().close()
