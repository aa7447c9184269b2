"""``cmdb demo --no-serve`` then ``cmdb demo --stop``, as a user runs them (real processes, bounded time).

The demo starts a real moto server, real snmpsim agents and (as root with ip
netns) real sshd hosts in namespaces, and discovers them with the real
scanners. The store must then hold the cross-source picture: each EC2 server
is one CI seen by AWS and SSH, its services depend on each other from real
connections, and a switch port of the lab network reaches web1's address.
``--stop`` must leave no process and no namespace behind.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from cmdb.model import CI, CIQuery
from cmdb.store.sqlite import SQLiteStore
from discovery.demo.hosts_lab import hosts_lab_problem
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


def test_demo_discovers_the_estate_for_real_and_stop_cleans_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    prefix = f"cmdbt{secrets.token_hex(2)}"
    env = {**os.environ, "CMDB_DEMO_NETNS_PREFIX": prefix, "COLUMNS": "200"}
    hosts_possible = hosts_lab_problem() is None
    try:
        run = _cmdb("demo", "--no-serve", "--dir", str(data_dir), env=env, timeout=240)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        state = json.loads((data_dir / "demo-state.json").read_text())
        assert "discovered for real: aws, network" + (", hosts" if hosts_possible else "") in run.stdout

        store = SQLiteStore(data_dir / "cmdb.sqlite", load_schema())
        try:
            runs = store.list_runs(limit=100)
            assert {r.job for r in runs} == {"acme-aws", "acme-network", "acme-services"} | (
                {"acme-hosts"} if hosts_possible else {"acme-sample"})
            assert [(r.scope, r.errors[:3]) for r in runs if r.status.value != "complete"] == []
            core = _named(store, "core1.lab.example")
            assert core.ci_class == "switch"
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
        finally:
            store.close()
    finally:
        stop = _cmdb("demo", "--stop", "--dir", str(data_dir), env=env, timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert not (data_dir / "demo-state.json").exists()
    for proc in state["processes"]:
        cmdline = Path(f"/proc/{proc['pid']}/cmdline")
        assert not cmdline.exists() or proc["marker"] not in cmdline.read_bytes().decode(errors="replace")
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    assert prefix not in namespaces
