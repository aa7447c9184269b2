from __future__ import annotations

import dataclasses
from typing import Any

from cmdb.observation import CIRef, Method, Observation, ObservedRelation
from discovery.ssh.dependencies import DependencyConfig, NoiseFilter, infer_dependencies
from discovery.ssh.facts import HostFacts, SocketFact, SocketProcess
from tests.unit.discovery.ssh.ssh_recordings import MACHINE_IDS, context, lab_facts

HOST_BY_ID = {v: k for k, v in MACHINE_IDS.items()}
PG = ("db1", (("port", 5432), ("product", "postgresql")))
APP_HTTP = ("app1", (("port", 8080), ("product", "python")))


def who(ref: CIRef) -> tuple[str, Any]:
    """(host name, identifiers) for an instance; (host name, "host") for a host."""
    if ref.ci_class == "host":
        return HOST_BY_ID[str(ref.identifiers["machine_id"])], "host"
    assert ref.parent is not None
    return HOST_BY_ID[str(ref.parent.identifiers["machine_id"])], tuple(sorted(ref.identifiers.items()))


def edges(hosts: list[tuple[str, HostFacts]], config: DependencyConfig | None = None) -> dict[tuple[Any, Any], float]:
    items = infer_dependencies([(context(n), f) for n, f in hosts], "lab:traffic", 1, config)
    rels = [i for i in items if isinstance(i, ObservedRelation)]
    assert all(r.type == "DEPENDS_ON" and r.evidence.method is Method.TRAFFIC for r in rels)
    return {(who(r.from_ci), who(r.to_ci)): r.evidence.confidence for r in rels}


def lab() -> list[tuple[str, HostFacts]]:
    return [(n, lab_facts(n)) for n in ("db1", "app1", "mon1")]


def test_lab_dependencies_exact() -> None:
    assert edges(lab()) == {
        (APP_HTTP, PG): 0.5,  # the app listening on 8080 holds a database session
        (("app1", (("pid_name", "python3"), ("product", "python"))), PG): 0.5,  # a worker (client only)
        (("app1", (("pid_name", "psql"), ("product", "postgresql-client"))), PG): 0.5,
        (("mon1", (("pid_name", "python3"), ("product", "python"))), APP_HTTP): 0.5,
        (("mon1", "host"), PG): 0.3,  # a closed connection (TIME-WAIT, process unknown)
    }


def test_client_instances_are_emitted_under_their_host() -> None:
    items = infer_dependencies([(context(n), f) for n, f in lab()], "lab:traffic", 1)
    clients = {who(i.ref()) for i in items if isinstance(i, Observation)}
    assert clients == {
        ("app1", (("pid_name", "python3"), ("product", "python"))),
        ("app1", (("pid_name", "psql"), ("product", "postgresql-client"))),
        ("mon1", (("pid_name", "python3"), ("product", "python"))),
    }
    assert all(i.scope == "lab:traffic" for i in items)


def test_noise_filter_is_configurable() -> None:
    monitoring = (("mon1", (("pid_name", "python3"), ("product", "python"))),
                  ("app1", (("port", 9100), ("product", "python"))))
    assert monitoring not in edges(lab())  # 9100 (node exporter) is noise by default
    assert monitoring in edges(lab(), DependencyConfig(noise=NoiseFilter(ports=frozenset())))
    by_cidr = edges(lab(), DependencyConfig(noise=NoiseFilter(cidrs=("10.250.9.1/32",))))
    assert all(to != PG for (_, to) in by_cidr)


def test_server_side_view_when_the_client_host_shows_nothing() -> None:
    hosts = lab()
    hosts[2] = ("mon1", dataclasses.replace(hosts[2][1], sockets=[]))
    assert edges(hosts) == {
        (APP_HTTP, PG): 0.5,
        (("app1", (("pid_name", "python3"), ("product", "python"))), PG): 0.5,
        (("app1", (("pid_name", "psql"), ("product", "postgresql-client"))), PG): 0.5,
        (("mon1", "host"), APP_HTTP): 0.5,  # seen only from app1's accepted socket
    }


def test_the_scanners_own_ssh_sessions_are_dropped() -> None:
    hosts = lab()
    mon, app = hosts[2][1], hosts[1][1]
    # The scanner runs on mon1: its session to app1 shows on both ends.
    hosts[1] = ("app1", dataclasses.replace(app, ssh_connection=("10.250.9.3", 40000, "10.250.9.2", 22)))
    own = SocketFact("ESTAB", "10.250.9.3", 40000, "10.250.9.2", 22, (SocketProcess("python3", 999),))
    other = SocketFact("ESTAB", "10.250.9.3", 40001, "10.250.9.2", 22, (SocketProcess("ssh", 998),))
    hosts[2] = ("mon1", dataclasses.replace(mon, sockets=[*mon.sockets, own, other]))
    found = edges(hosts)
    openssh = ("app1", (("port", 22), ("product", "openssh")))
    assert (("mon1", (("pid_name", "ssh"), ("product", "ssh"))), openssh) in found  # a real ssh session is kept
    assert (("mon1", (("pid_name", "python3"), ("product", "python"))), openssh) not in found
