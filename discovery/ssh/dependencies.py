"""Application dependencies from live TCP connections across the scanned hosts (pure).

An ESTAB or TIME-WAIT socket on host A whose peer is a socket listening on a
scanned host B, and whose local port is not one of A's listeners, is evidence
that something on A uses the service on B. The client end is the software
instance owning the socket on A (a listening instance of the same process if
there is one, otherwise a client instance named by the process), or host A when
the process is unknown (no root, or a TIME-WAIT socket). When only B's side
shows the connection (A closed it, or A's ``ss`` could not name processes), the
edge runs from host A.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation
from discovery.ssh.facts import HostFacts, SocketFact
from discovery.ssh.observations import HostContext, Instance, host_ref, instance_ref, listener_instances
from discovery.ssh.products import product_for_process

ACTIVE_STATES = frozenset({"ESTAB", "TIME-WAIT"})


@dataclass(frozen=True, slots=True)
class NoiseFilter:
    """Connections that are infrastructure, not application dependencies.

    ``ports``: server ports to ignore (DNS, NTP, SNMP, monitoring agents);
    ``processes``: process names to ignore at either end; ``cidrs``: peer
    networks to ignore (at either end of the connection). The scanner's own SSH sessions are always dropped
    (matched exactly through ``$SSH_CONNECTION``).
    """

    ports: frozenset[int] = frozenset({53, 123, 161, 162, 514, 5666, 8125, 9100, 10050, 10051})
    processes: frozenset[str] = frozenset({"systemd-resolve", "chronyd", "ntpd", "node_exporter",
                                           "zabbix_agentd", "zabbix_agent2", "collectd", "telegraf"})
    cidrs: tuple[str, ...] = ()

    def drops(self, sock: SocketFact, server_port: int) -> bool:
        if server_port in self.ports:
            return True
        if any(p.name in self.processes for p in sock.processes):
            return True
        if self.cidrs:
            ends = (ipaddress.ip_address(sock.local_addr), ipaddress.ip_address(sock.peer_addr))
            return any(end in ipaddress.ip_network(c, strict=False) for c in self.cidrs for end in ends)
        return False


@dataclass(frozen=True, slots=True)
class DependencyConfig:
    noise: NoiseFilter = field(default_factory=NoiseFilter)
    estab_confidence: float = 0.5  # per sighting of an open connection
    time_wait_confidence: float = 0.3  # per sighting of a recently closed one


@dataclass(slots=True)
class _Edge:
    from_ref: CIRef
    to_ref: CIRef
    port: int
    confidence: float
    states: set[str] = field(default_factory=set)


@functools.lru_cache(maxsize=4096)
def _unspecified(addr: str) -> bool:
    return ipaddress.ip_address(addr).is_unspecified


@functools.lru_cache(maxsize=4096)
def _loopback(addr: str) -> bool:
    return ipaddress.ip_address(addr).is_loopback


def infer_dependencies(
    hosts: Sequence[tuple[HostContext, HostFacts]],
    scope: str,
    observed_at: int,
    config: DependencyConfig | None = None,
    source: str = "ssh",
) -> list[Item]:
    """DEPENDS_ON relations (method ``traffic``) and the client instances they start from."""
    cfg = config or DependencyConfig()
    refs = [host_ref(f, c) for c, f in hosts]
    tables = [listener_instances(f) for _, f in hosts]
    listen_ports = [f.listen_ports() for _, f in hosts]
    # (address, port) -> (host index, instance); loopback keys are per host.
    by_endpoint: dict[tuple[str, int], tuple[int, Instance]] = {}
    local_endpoint: list[dict[tuple[str, int], Instance]] = []
    owner: dict[str, int] = {}
    for idx, (_, facts) in enumerate(hosts):
        addrs = {a for a in facts.addresses() if not _loopback(a)}
        for address in addrs:
            owner.setdefault(address, idx)
        local: dict[tuple[str, int], Instance] = {}
        for inst in tables[idx].values():
            for la in inst.listen_addresses:
                targets = addrs | {"127.0.0.1", "::1"} if _unspecified(la) else {la}
                for t in targets:
                    local[(t, inst.port)] = inst
                    if not _loopback(t):
                        by_endpoint.setdefault((t, inst.port), (idx, inst))
        local_endpoint.append(local)
    scanner_endpoints = {(f.ssh_connection[0], f.ssh_connection[1]) for _, f in hosts if f.ssh_connection}

    edges: dict[tuple[str, str], _Edge] = {}
    client_items: dict[str, Observation] = {}
    seen_pairs: set[tuple[int, int, int]] = set()  # (client host, server host, server port) from the client side

    def confidence(state: str) -> float:
        return cfg.estab_confidence if state == "ESTAB" else cfg.time_wait_confidence

    def add(from_ref: CIRef, to_ref: CIRef, port: int, state: str) -> None:
        key = (_key(from_ref), _key(to_ref))
        edge = edges.get(key)
        if edge is None:
            edge = edges[key] = _Edge(from_ref, to_ref, port, 0.0)
        edge.confidence = max(edge.confidence, confidence(state))
        edge.states.add(state)

    def own_session(sock: SocketFact) -> bool:
        return (sock.local_addr, sock.local_port) in scanner_endpoints or (
            sock.peer_addr, sock.peer_port) in scanner_endpoints

    # Client side: A's socket to a listener on B.
    for a, (ctx, facts) in enumerate(hosts):
        a_ref = refs[a]
        if a_ref is None:
            continue
        pid_instance = _pid_instances(tables[a])
        for sock in facts.sockets:
            if sock.state not in ACTIVE_STATES or sock.local_port in listen_ports[a] or own_session(sock):
                continue
            target: Instance | None
            if _loopback(sock.peer_addr):
                b, target = a, local_endpoint[a].get((sock.peer_addr, sock.peer_port))
            else:
                b, target = by_endpoint.get((sock.peer_addr, sock.peer_port), (-1, None))
            b_ref = refs[b] if b >= 0 else None
            if target is None or b_ref is None or cfg.noise.drops(sock, target.port):
                continue
            if b == a and sock.process is None:
                continue  # a host "depending" on a service it contains says nothing (health checks, TIME-WAIT)
            from_ref = _client_ref(a_ref, sock, pid_instance, client_items, ctx, facts, scope, observed_at, source)
            add(from_ref, instance_ref(b_ref, target.identifiers()), target.port, sock.state)
            seen_pairs.add((a, b, target.port))

    # Server side: B's accepted socket from a scanned host A that A did not report.
    for b, (_, facts) in enumerate(hosts):
        b_ref = refs[b]
        if b_ref is None:
            continue
        for sock in facts.sockets:
            if sock.state not in ACTIVE_STATES or sock.local_port not in listen_ports[b] or own_session(sock):
                continue
            client = owner.get(sock.peer_addr, -1)
            client_ref = refs[client] if client >= 0 else None
            served = local_endpoint[b].get((sock.local_addr, sock.local_port))
            if client_ref is None or client == b or served is None or (client, b, served.port) in seen_pairs:
                continue
            if sock.peer_port in listen_ports[client] or cfg.noise.drops(sock, served.port):
                continue
            add(client_ref, instance_ref(b_ref, served.identifiers()), served.port, sock.state)

    items: list[Item] = list(client_items.values())
    for edge in edges.values():
        items.append(
            ObservedRelation(
                type="DEPENDS_ON",
                from_ci=edge.from_ref,
                to_ci=edge.to_ref,
                attributes={"port": edge.port, "protocol": "tcp"},
                evidence=Evidence(method=Method.TRAFFIC, confidence=edge.confidence),
                source=source,
                scope=scope,
                observed_at=observed_at,
            )
        )
    return items


def _key(ref: CIRef) -> str:
    return ref.model_dump_json()


def _pid_instances(table: dict[tuple[str, int], Instance]) -> dict[int, Instance]:
    out: dict[int, Instance] = {}
    for inst in sorted(table.values(), key=lambda i: i.port, reverse=True):
        if inst.pid is not None:
            out[inst.pid] = inst  # the lowest port wins
    return out


def _client_ref(
    host: CIRef,
    sock: SocketFact,
    pid_instance: dict[int, Instance],
    client_items: dict[str, Observation],
    ctx: HostContext,
    facts: HostFacts,
    scope: str,
    observed_at: int,
    source: str,
) -> CIRef:
    proc = sock.process
    if proc is None:
        return host
    listening = pid_instance.get(proc.pid)
    if listening is not None:
        return instance_ref(host, listening.identifiers())
    ids: dict[str, Any] = {"product": product_for_process(proc.name), "pid_name": proc.name}
    ref = instance_ref(host, ids)
    if _key(ref) not in client_items:
        ps = next((p for p in facts.processes if p.pid == proc.pid), None)
        attrs: dict[str, Any] = {"name": f"{ids['product']} on {facts.hostname or ctx.name}"}
        if ps is not None:
            attrs.update(user=ps.user, command=ps.args[:500])
        client_items[_key(ref)] = Observation(
            ci_class="software_instance", identifiers=ids, parent=host, attributes=attrs,
            source=source, scope=scope, observed_at=observed_at,
        )
    return ref
