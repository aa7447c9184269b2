"""The Neo4j transport for real: the official driver's sessions, managed
transactions and record mapping, over FalkorDB's experimental Bolt endpoint.

FalkorDB binds Bolt on every interface, so the server and the client run in a
private network namespace (``unshare --net``, loopback only): nothing is
reachable from outside. Batches are small (the endpoint crashes on parameters
over ~4 KB); it ignores the database name (writes go to the graph
``falkordb``) and cannot roll back, so atomicity is not checked here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from cmdb.store.cypher.ddl import neo4j_ddl
from cmdb.store.cypher.statements import Statements, attribute_list_as_map
from schema import load_schema

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def run_smoke() -> dict[str, object]:
    assert os.geteuid() == 0, "needs root for a private network namespace (unshare --net)"
    assert shutil.which("unshare") and shutil.which("ip"), "needs util-linux unshare and iproute2 ip"
    script = f"ip link set lo up && exec {sys.executable} {HERE / 'bolt_smoke.py'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["unshare", "--net", "--", "sh", "-c", script], capture_output=True, text=True,
                          timeout=240, env=env, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_neo4j_transport_over_falkordb_bolt() -> None:
    got = run_smoke()
    ok = {k: v["ok"] for k, v in got.items() if isinstance(v, dict) and "ok" in v}
    errors = {k: v["error"] for k, v in got.items() if isinstance(v, dict) and "error" in v}
    assert errors == {}
    assert ok["read"] == [[1], [2], [3]]
    assert ok["get_cis"] == [["a1", "application", "shop"], ["h1", "host", "web-1"], ["h2", "host", "web-2"]]
    assert ok["neighbours"] == [["a1", "RUNS_ON", "h1"], ["a1", "RUNS_ON", "h2"]]
    assert ok["find_keys"] == {"app#1||shop": ["a1"]}
    assert ok["search"] == ["h1", "h2"]
    assert ok["history"] == [["create", {"name": [None, "shop"]}]]
    assert ok["get_run"] == "r1"
    # Written over Bolt, read back through the native client: the same graph.
    assert ok["graphs"] == ["falkordb"]
    assert ok["native_get_cis"] == ["a1", "h1", "h2"]
    assert ok["native_counts"] == [3, 2, 3, 1]
    # Everything the store sent through the Neo4j transport is in the catalogue the linter checks.
    schema = load_schema()
    catalogue = {text for _, text in Statements(schema).catalogue()} | set(neo4j_ddl(schema))
    # CI statements naming their attributes are checked in their map form (attribute_list_as_map).
    sent = {attribute_list_as_map(text) for text in got["sent"]}  # type: ignore[attr-defined]
    assert sent and sent <= catalogue, sorted(sent - catalogue)
