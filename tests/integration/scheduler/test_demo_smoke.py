"""``cmdb demo`` (serving) then ``cmdb demo --stop``, as a user runs them: real processes, bounded time.

The demo starts a real moto server, real snmpsim agents and (as root with ip
netns) real sshd hosts in namespaces, discovers them with the real scanners and
serves the API. The store must then hold the cross-source picture: each EC2
server is one CI seen by AWS and SSH, its services depend on each other from
real connections, a switch port of the lab network reaches web1's address, and
an impact query over HTTP rolls a database failure up to the business service.
``--stop`` (from another process) must leave no process and no namespace behind.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cmdb.model import CI, CIQuery
from cmdb.store.sqlite import SQLiteStore
from labs.demo.hosts_lab import hosts_lab_problem
from schema import load_schema

CMDB = str(Path(sys.executable).with_name("cmdb"))
pytestmark = pytest.mark.slow


def _cmdb(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CMDB, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def _named(store: SQLiteStore, name: str) -> CI:
    (ci,) = [c for c in store.search(CIQuery(text=name, limit=100)).items if c.name == name]
    return ci


def _cis(store: SQLiteStore, uids: set[str]) -> dict[str, CI]:
    return store.get_cis(uids)


def _check_store(store: SQLiteStore, hosts_possible: bool) -> None:
    """The cross-source picture the demo must produce (exact sets where the estate is fixed)."""
    runs = store.list_runs(limit=100)
    assert {r.job for r in runs} == {"acme-aws", "acme-network", "acme-vsphere", "acme-services"} | (
        {"acme-hosts"} if hosts_possible else {"acme-sample"})
    assert [(r.scope, r.errors[:3]) for r in runs if r.status.value != "complete"] == []
    core = _named(store, "core1.lab.example")
    assert core.ci_class == "switch"
    assert _named(store, "DC0_C0").ci_class == "cluster"  # the vSphere estate (vcsim)
    assert _named(store, "DC0_C0_RP1_VM0").ci_class == "virtual_machine"
    if not hosts_possible:
        return
    servers = {n: _named(store, n) for n in ("web1", "app1", "db1", "cache1")}
    assert {(n, c.ci_class, tuple(sorted({p.source for p in c.provenance.values()})))
            for n, c in servers.items()} == {(n, "cloud_instance", ("aws", "ssh")) for n in servers}
    # Services on those servers, and the dependencies their real connections show.
    services = store.search(CIQuery(classes=("software_instance",), limit=100)).items
    names = {s.uid: (_cis(store, {s.parent_uid or ""}).get(s.parent_uid or ""), s.name) for s in services}
    deps = {(names[r.source_uid][0].name, names[r.source_uid][1],  # type: ignore[union-attr]
             names[r.target_uid][0].name, names[r.target_uid][1])  # type: ignore[union-attr]
            for r in store.neighbours(list(names), types=["DEPENDS_ON"])
            if r.source_uid in names and r.target_uid in names}
    assert deps == {("web1", "nginx:80", "app1", "java:8080"), ("app1", "java:8080", "db1", "postgresql:5432"),
                    ("app1", "java:8080", "cache1", "redis:6379")}
    # A switch port of the lab network reaches web1's address, which SSH assigned to web1.
    (address,) = [c for c in store.search(CIQuery(classes=("ip_address",), text="10.0.10.50")).items
                  if c.name == "10.0.10.50"]
    rels = store.neighbours([address.uid])
    ends = _cis(store, {r.source_uid for r in rels})
    parents = _cis(store, {c.parent_uid for c in ends.values() if c.parent_uid})
    seen = {(r.type, parents[ends[r.source_uid].parent_uid].name, ends[r.source_uid].name)  # type: ignore[index]
            for r in rels if r.target_uid == address.uid}
    assert ("SEEN_BEHIND", "acc1.lab.example", "Ethernet2") in seen
    assert ("HAS_ADDRESS", "web1", "eth0") in seen
    # The cloud side of the same server: the load balancer's target group routes to it.
    routes = {(r.type, _cis(store, {r.source_uid})[r.source_uid].name)
              for r in store.neighbours([servers["web1"].uid], types=["ROUTES_TO"])}
    assert routes == {("ROUTES_TO", "shop-web")}
    # The declared service map reaches the discovered processes.
    shop = _named(store, "shop")
    declared = {_cis(store, {r.target_uid})[r.target_uid].name
                for r in store.neighbours([shop.uid], types=["DEPENDS_ON"]) if r.source_uid == shop.uid}
    assert declared == {"nginx:80", "java:8080"}


def _gql(port: int, query: str, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_discovers_the_estate_for_real_serves_it_and_stop_cleans_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    prefix = f"cmdbt{secrets.token_hex(2)}"
    env = {**os.environ, "CMDB_DEMO_NETNS_PREFIX": prefix, "COLUMNS": "200"}
    hosts_possible = hosts_lab_problem() is None
    port = _free_port()
    log = tmp_path / "demo.out"
    with open(log, "w") as out:
        proc = subprocess.Popen([CMDB, "demo", "--dir", str(data_dir), "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, env=env, text=True)
    state: dict[str, Any] = {"processes": []}
    try:
        deadline = time.monotonic() + 240
        while "Ctrl-C stops" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        output = log.read_text()
        state = json.loads((data_dir / "demo-state.json").read_text())
        assert "discovered for real: aws, network, vsphere" + (", hosts" if hosts_possible else "") in output
        store = SQLiteStore(data_dir / "cmdb.sqlite", load_schema())
        try:
            _check_store(store, hosts_possible)
        finally:
            store.close()

        # The API serves it: nothing without the token; the printed impact query answers with the service.
        token = (data_dir / "viewer-token").read_text().strip()
        assert _gql(port, "{ cis(first: 1) { edges { node { uid } } } }", None)[0] == 401
        queries = [line for line in output.splitlines() if line.startswith("{ impact") or line.startswith("{ dep")]
        assert len(queries) == (3 if hosts_possible else 1)
        for query in queries:
            status, body = _gql(port, query, token)
            assert status == 200 and not body.get("errors"), body
        if hosts_possible:
            report = _gql(port, queries[0], token)[1]["data"]["impact"]
            assert {(s["name"], s["grade"], s["owner"]) for s in report["services"]} == {
                ("Acme Shop", "DOWN", "shop-team@acme.example"), ("shop", "DOWN", "shop-team@acme.example")}
            assert {"java:8080", "nginx:80"} <= {i["name"] for i in report["impacted"]}

        stop = _cmdb("demo", "--stop", "--dir", str(data_dir), env=env, timeout=60)
        assert stop.returncode == 0, stop.stderr
        assert "demo stopped" in stop.stdout
    finally:
        _cmdb("demo", "--stop", "--dir", str(data_dir), env=env, timeout=60)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert not (data_dir / "demo-state.json").exists()
    for record in state["processes"]:
        cmdline = Path(f"/proc/{record['pid']}/cmdline")
        assert not cmdline.exists() or record["marker"] not in cmdline.read_bytes().decode(errors="replace")
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert prefix not in namespaces


def test_sigterm_to_a_serving_demo_stops_its_whole_estate(tmp_path: Path) -> None:
    # What a service manager or `kill` sends: the demo ends as with Ctrl-C, the estate with it
    # (before, the process died at uvicorn's re-raised SIGTERM and left moto, snmpsim and vcsim running).
    data_dir = tmp_path / "demo"
    env = {**os.environ, "COLUMNS": "200"}
    log = tmp_path / "demo.out"
    with open(log, "w") as out:
        proc = subprocess.Popen([CMDB, "demo", "--no-hosts", "--dir", str(data_dir), "--port", str(_free_port())],
                                stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    state: dict[str, Any] = {"processes": []}
    try:
        deadline = time.monotonic() + 240
        while "Ctrl-C stops" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        state = json.loads((data_dir / "demo-state.json").read_text())
        assert {record["marker"] for record in state["processes"]} != set()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        _cmdb("demo", "--stop", "--dir", str(data_dir), env=env, timeout=60)  # whatever the outcome
    assert "stopping the demo estate" in log.read_text()
    assert not (data_dir / "demo-state.json").exists()
    for record in state["processes"]:
        cmdline = Path(f"/proc/{record['pid']}/cmdline")
        assert not cmdline.exists() or record["marker"] not in cmdline.read_bytes().decode(errors="replace")
