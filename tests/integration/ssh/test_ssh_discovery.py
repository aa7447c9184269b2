"""End to end: real sshds in network namespaces -> SSHScanner -> Ingestor -> SQLite store."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import asyncssh

from cmdb.model import CI, Lifecycle, Relationship, RunStatus, ScanRun
from discovery.runner import run_scan
from discovery.ssh.hostkeys import HostKeyMode
from discovery.ssh.inventory import Credentials, HostEntry, HostKeysConfig, Inventory, load_inventory
from discovery.ssh.scanner import SSHScanner
from tests.builders import Harness
from tests.integration.ssh.netns import PG_BIN, AppLab, Lab, start_app, stop_process

LAB3 = ("db1", "app1", "mon1")


def scan(harness: Harness, lab: AppLab, names: tuple[str, ...] = LAB3, **overrides: Any) -> list[ScanRun]:
    hosts = [h for h in lab.lab.hosts if h.name in names]
    scanner = SSHScanner(lab.lab.inventory(hosts, **overrides), connector=lab.lab.connector)
    return asyncio.run(run_scan(scanner, harness.ingestor))


def describe(harness: Harness) -> tuple[dict[str, CI], dict[str, Any]]:
    """uid -> CI, and uid -> a readable name: "db1" for a host, ("db1", ids...) for its children."""
    cis = {c.uid: c for c in harness.all_cis()}
    names: dict[str, Any] = {}
    for c in cis.values():
        if c.ci_class == "host":
            names[c.uid] = c.attributes["hostname"]
    for c in cis.values():
        if c.ci_class == "software_instance":
            host = names[c.parent_uid] if c.parent_uid else None
            names[c.uid] = (host, c.attributes["product"], c.attributes.get("port") or c.attributes.get("pid_name"))
    return cis, names


def traffic_edges(harness: Harness, status: Lifecycle | None = Lifecycle.ACTIVE) -> dict[tuple[Any, Any], Relationship]:
    _, names = describe(harness)
    return {
        (names[r.source_uid], names[r.target_uid]): r
        for r in harness.all_rels()
        if r.type == "DEPENDS_ON" and r.evidence.method == "traffic" and (status is None or r.status == status)
    }


PG = ("db1", "postgresql", 5432)
APP_HTTP = ("app1", "python", 8080)
EXPECTED_EDGES = {
    (APP_HTTP, PG),
    (("app1", "postgresql-client", "psql"), PG),
    (("mon1", "python", "python3"), APP_HTTP),
}


def test_first_scan_hosts_instances_and_dependencies(app_lab: AppLab, harness: Harness) -> None:
    # A short-lived connection just before the scan: TIME-WAIT on mon1, no process left.
    assert app_lab.mon.run([str(PG_BIN / "psql"), "-h", app_lab.db.address, "-U", "postgres", "-Atc", "select 1"]).stdout == "1\n"
    runs = scan(harness, app_lab)
    assert {(r.scope, r.status) for r in runs} == {
        ("lab/db1", RunStatus.COMPLETE), ("lab/app1", RunStatus.COMPLETE), ("lab/mon1", RunStatus.COMPLETE),
        ("lab:traffic", RunStatus.COMPLETE), ("lab", RunStatus.COMPLETE),
    }
    cis, names = describe(harness)
    hosts = {(c.attributes["hostname"], c.attributes["machine_id"], c.attributes["fqdn"], c.attributes["ssh_host_key"])
             for c in cis.values() if c.ci_class == "host"}
    assert hosts == {(h.name, h.machine_id, h.fqdn, h.fingerprint) for h in (app_lab.db, app_lab.app, app_lab.mon)}
    instances = {names[c.uid] for c in cis.values() if c.ci_class == "software_instance"}
    assert instances == {
        ("db1", "openssh", 22), PG,
        ("app1", "openssh", 22), APP_HTTP, ("app1", "python", 9100),
        ("app1", "postgresql-client", "psql"),
        ("mon1", "openssh", 22), ("mon1", "python", "python3"),
    }
    addresses = {(c.attributes["address"], c.attributes["network_scope"]) for c in cis.values() if c.ci_class == "ip_address"}
    assert addresses == {(h.address, "global") for h in (app_lab.db, app_lab.app, app_lab.mon)}
    assert {c.attributes["cidr"] for c in cis.values() if c.ci_class == "subnet"} == {"10.250.31.0/24"}
    has_address = {(names[cis[cis[r.source_uid].parent_uid or ""].uid], cis[r.source_uid].attributes["name"],
                    cis[r.target_uid].attributes["address"]) for r in harness.all_rels() if r.type == "HAS_ADDRESS"}
    assert has_address == {(h.name, "eth0", h.address) for h in (app_lab.db, app_lab.app, app_lab.mon)}
    in_network = {(cis[r.source_uid].attributes["address"], cis[r.target_uid].attributes["cidr"])
                  for r in harness.all_rels() if r.type == "IN_NETWORK"}
    assert in_network == {(h.address, "10.250.31.0/24") for h in (app_lab.db, app_lab.app, app_lab.mon)}
    edges = traffic_edges(harness)
    assert set(edges) == EXPECTED_EDGES | {("mon1", PG)}  # mon1's closed connection: from the host
    assert edges[("mon1", PG)].evidence.confidence == 0.3
    assert all(e.evidence.times_seen == 1 and e.evidence.sources == ["ssh"] for e in edges.values())
    # Every dependent CI hangs off its host through CONTAINS.
    contains = {(names.get(r.source_uid), cis[r.target_uid].ci_class) for r in harness.all_rels() if r.type == "CONTAINS"}
    assert {h for h, _ in contains} == {"db1", "app1", "mon1"}
    assert {cls for _, cls in contains} == {"interface", "filesystem", "software_package", "software_instance"}


def test_repeated_scans_raise_evidence_and_a_vanished_connection_ages_out(app_lab: AppLab, harness: Harness) -> None:
    worker_bin = app_lab.app.dir / "worker"
    if not worker_bin.exists():
        worker_bin.symlink_to("/usr/bin/python3")  # a process named "worker"
    worker = start_app(app_lab.app, 0, (f"{app_lab.db.address}:5432:pg",), python=str(worker_bin))
    worker_edge = (("app1", "worker", "worker"), PG)
    scan(harness, app_lab)
    scan(harness, app_lab)
    edges = traffic_edges(harness)
    assert EXPECTED_EDGES | {worker_edge} <= set(edges)
    for key in EXPECTED_EDGES | {worker_edge}:
        assert (edges[key].evidence.times_seen, edges[key].evidence.confidence) == (2, 0.75)  # 1 - 0.5^2

    stop_process(app_lab.app, worker)  # closed with an RST: no TIME-WAIT left behind
    statuses = []
    for _ in range(4):
        runs = scan(harness, app_lab)
        assert all(r.status is RunStatus.COMPLETE for r in runs)
        statuses.append(traffic_edges(harness, status=None)[worker_edge].status)
    assert statuses == [Lifecycle.ACTIVE, Lifecycle.STALE, Lifecycle.STALE, Lifecycle.RETIRED]
    edges = traffic_edges(harness)
    assert set(edges) >= EXPECTED_EDGES and worker_edge not in edges
    assert {k for k in edges if k[0] != "mon1"} == EXPECTED_EDGES  # mon1's TIME-WAIT edge may have expired
    for key in EXPECTED_EDGES:
        assert edges[key].evidence.times_seen == 6
        assert abs(edges[key].evidence.confidence - (1 - 0.5**6)) < 1e-6
    cis, names = describe(harness)
    worker_ci = next(c for c in cis.values() if names.get(c.uid) == ("app1", "worker", "worker"))
    assert worker_ci.status is Lifecycle.RETIRED  # the client instance ages with its connection


def test_failures_finish_the_scan_and_are_reported_per_host(app_lab: AppLab, harness: Harness, tmp_path: Path) -> None:
    lab = app_lab.lab
    odd = next(h for h in lab.hosts if h.name == "odd1")
    slow = next(h for h in lab.hosts if h.name == "slow1")
    # odd1: `ss` prints garbage and `ip` fails; slow1: `ps` hangs. Bind mounts stay inside each host.
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "ss").write_text("#!/bin/sh\necho 'Segmentation fault in the kernel: ##^&*'\n")
    (fake / "ip").write_text("#!/bin/sh\necho 'ip: cannot open netlink socket' >&2\nexit 2\n")
    (fake / "ps").write_text("#!/bin/sh\nsleep 30\n")
    for f in fake.iterdir():
        f.chmod(0o755)
    for host, tool, real in ((odd, "ss", "/usr/bin/ss"), (odd, "ip", "/usr/sbin/ip"), (slow, "ps", "/usr/bin/ps")):
        assert host.run(["mount", "--bind", str(fake / tool), real]).returncode == 0
    wrong_key = tmp_path / "wrong_key"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(wrong_key))
    other_fp = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    fingerprints = tmp_path / "fp.json"
    fingerprints.write_text(json.dumps({
        "db1": [app_lab.db.fingerprint], "wrongkey": [app_lab.app.fingerprint], "changed": [other_fp],
        "odd1": [odd.fingerprint], "slow1": [slow.fingerprint],
    }))
    inventory = Inventory(
        scope="bad",
        hosts=[
            HostEntry(name="db1", address=app_lab.db.address),
            HostEntry(name="ghost", address="10.250.31.77"),
            HostEntry(name="wrongkey", address=app_lab.app.address, key_file=str(wrong_key)),
            HostEntry(name="changed", address=app_lab.mon.address),
            HostEntry(name="odd1", address=odd.address),
            HostEntry(name="slow1", address=slow.address),
        ],
        host_keys=HostKeysConfig(mode=HostKeyMode.FINGERPRINTS, file=str(fingerprints)),
        defaults=Credentials(user="root", port=22, key_file=str(lab.client_key_path)),
        connect_timeout_s=5.0, deadline_s=10.0,
    )
    runs = asyncio.run(run_scan(SSHScanner(inventory, connector=lab.connector), harness.ingestor))
    by_scope = {r.scope: r for r in runs}
    assert {s: r.status for s, r in by_scope.items()} == {
        "bad/db1": RunStatus.COMPLETE, "bad/ghost": RunStatus.INCOMPLETE, "bad/wrongkey": RunStatus.INCOMPLETE,
        "bad/changed": RunStatus.INCOMPLETE, "bad/odd1": RunStatus.INCOMPLETE, "bad/slow1": RunStatus.INCOMPLETE,
        "bad:traffic": RunStatus.INCOMPLETE, "bad": RunStatus.COMPLETE,
    }
    errors = {s: " | ".join(r.errors) for s, r in by_scope.items() if s != "bad"}
    assert "ghost: " in errors["bad/ghost"] and ("unreachable" in errors["bad/ghost"] or "timed out" in errors["bad/ghost"])
    assert "wrongkey: authentication failed for user 'root'" in errors["bad/wrongkey"]
    assert f"changed: host key CHANGED for changed: server offered {app_lab.mon.fingerprint}, recorded {other_fp}" in errors["bad/changed"]
    assert "ss: unparseable output" in errors["bad/odd1"] and "ip_addr: command failed (exit 2)" in errors["bad/odd1"]
    assert errors["bad/slow1"] == "slow1: deadline of 10s exceeded"
    assert set(errors["bad:traffic"].split(" | ")) == {
        f"{n}: connections not read" for n in ("ghost", "wrongkey", "changed", "odd1", "slow1")
    }
    # What could be read is kept: odd1 is a host CI with its packages even though ss and ip failed.
    hosts = {c.attributes["hostname"] for c in harness.all_cis() if c.ci_class == "host"}
    assert hosts == {"db1", "odd1"}
    for host, real in ((odd, "/usr/bin/ss"), (odd, "/usr/sbin/ip"), (slow, "/usr/bin/ps")):
        host.run(["umount", real])


def test_a_lab_writes_a_usable_inventory_then_deletes_its_namespaces_and_stops_its_processes(tmp_path: Path) -> None:
    with Lab(tmp_path, net="10.250.32") as lab:
        host = lab.add_host("solo")
        lab.start()
        pids = [host.proc.pid, host.init_pid] if host.proc else []
        inventory = load_inventory(lab.write_inventory(tmp_path / "inv.yaml"))
        harness = Harness(tmp_path / "db.sqlite")
        try:
            runs = asyncio.run(run_scan(SSHScanner(inventory, connector=lab.connector), harness.ingestor))
        finally:
            harness.store.close()
        assert {(r.scope, r.status) for r in runs} == {("lab/solo", RunStatus.COMPLETE), ("lab:traffic", RunStatus.COMPLETE),
                                                       ("lab", RunStatus.COMPLETE)}
        names = list(lab.namespaces)
        assert set(names) <= set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed.split() for n in names)
    assert all(not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text() for pid in pids)


def test_without_root_or_sudo_the_host_still_yields_what_it_can(app_lab: AppLab, harness: Harness) -> None:
    # Log in as an unprivileged account; sudo_ss asks for `sudo -n ss`, which is absent here: plain ss it is.
    creds = Credentials(user="postgres", port=22, key_file=str(app_lab.lab.client_key_path), sudo_ss=True)
    runs = scan(harness, app_lab, defaults=creds, scope="nonroot")
    assert all(r.status is RunStatus.COMPLETE for r in runs)
    cis, names = describe(harness)
    instances = {names[c.uid] for c in cis.values() if c.ci_class == "software_instance"}
    assert instances == {
        ("db1", "openssh", 22), PG,  # postgres' own sockets keep their process name
        ("app1", "openssh", 22), ("app1", "http", 8080), ("app1", "tcp-9100", 9100),  # root's: named by port
        ("mon1", "openssh", 22),
    }
    pg = next(c for c in cis.values() if names.get(c.uid) == PG)
    assert pg.attributes["process_name"] == "postgres"
    # Client processes are root's: the edges start from the hosts.
    # (mon1 -> PG from a TIME-WAIT left by another test within the last minute may show too.)
    assert set(traffic_edges(harness)) - {("mon1", PG)} == {("app1", PG), ("mon1", ("app1", "http", 8080))}
