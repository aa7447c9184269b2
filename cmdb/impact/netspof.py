"""Network single points of failure: the devices and links whose loss alone cuts something off.

On the bounded part of the network around a site or a service (networkx on a few
thousand CIs), with every uplink joined to one virtual root: an articulation point
of that graph is a device whose loss disconnects something from every uplink, a
bridge is a link whose loss does. Parallel links (LAG members) are never bridges.
Hosts forward nothing, so a host is never a single point of failure of another CI.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

import networkx as nx

from cmdb.impact.models import NetworkLinkSpof, NetworkSpof
from cmdb.topology.network import NetworkGraph
from cmdb.topology.snapshot import Topology

_ROOT = -1  # the virtual node every uplink hangs from


def site_of(net: NetworkGraph, starts: Collection[int], max_nodes: int) -> tuple[list[int], bool]:
    """Local ids of the network parts holding ``starts`` (local ids), breadth-first, at most ``max_nodes``."""
    seen = set(starts)
    queue = deque(starts)
    truncated = False
    while queue:
        u = queue.popleft()
        for _, v in net.inc[u]:
            if v not in seen:
                if len(seen) >= max_nodes:
                    truncated = True
                    continue
                seen.add(v)
                queue.append(v)
    return sorted(seen), truncated


def network_spofs(
    topo: Topology, net: NetworkGraph, nodes: list[int], targets: Collection[int] | None
) -> tuple[list[NetworkSpof], list[NetworkLinkSpof]]:
    """Articulation points and bridges among ``nodes`` (local ids), with the CIs each cuts off.

    The graph is the forwarding CIs (switches, routers; every uplink joined to a
    virtual root); a host is cut off when every CI it is attached to is. ``targets``
    (local ids): only what cuts off one of them counts, and only they are listed as
    cut off (a service's hosts); None: every CI of the part.
    """
    forwards = [u for u in nodes if net.transit[u]]
    inside = set(forwards)
    graph = nx.MultiGraph()
    graph.add_nodes_from(forwards)
    graph.add_node(_ROOT)
    hosts: dict[int, list[tuple[int, int]]] = {}  # host -> (link, forwarding CI) of each attachment
    for u in nodes:
        if net.uplink[u]:
            graph.add_edge(_ROOT, u, key=-1)
        for link, v in net.inc[u]:
            if u in inside and v in inside:
                if u < v:
                    graph.add_edge(u, v, key=link)
            elif u not in inside and v in inside:
                hosts.setdefault(u, []).append((link, v))
    reachable = nx.node_connected_component(graph, _ROOT)
    wanted = set(nodes) if targets is None else set(targets)

    def lost(gone: set[int]) -> list[int]:
        """Wanted CIs cut off when the forwarding CIs ``gone`` are (hosts: when all they hang on are)."""
        out = [u for u in gone if u in wanted and u in reachable]
        out += [h for h, att in hosts.items() if h in wanted and any(v in reachable for _, v in att)
                and all(v in gone for _, v in att)]
        return sorted(set(out))

    def unreachable(g: nx.MultiGraph) -> set[int]:
        still: set[int] = nx.node_connected_component(g, _ROOT)
        return set(reachable - still)

    devices: list[NetworkSpof] = []
    only_switch = {att[0][1] for att in hosts.values() if len({v for _, v in att}) == 1}
    for a in sorted((set(nx.articulation_points(graph)) | only_switch) - {_ROOT}):
        g = graph.copy()
        g.remove_node(a)
        cut = [u for u in lost(unreachable(g) | {a}) if u != a]
        if cut:
            nid = net.gid[a]
            devices.append(NetworkSpof(topo.uid(nid), topo.class_name(nid), topo.name(nid),
                                       [topo.uid(net.gid[u]) for u in cut]))
    links: list[NetworkLinkSpof] = []
    candidates: list[tuple[int, list[int]]] = []
    for u, v in sorted(nx.bridges(graph), key=lambda e: (min(e), max(e))):
        if _ROOT in (u, v):
            continue
        g = graph.copy()
        g.remove_edge(u, v)
        candidates.append((next(iter(graph[u][v])), lost(unreachable(g))))
    for h, att in sorted(hosts.items()):
        if len(att) == 1 and h in wanted and att[0][1] in reachable:
            candidates.append((att[0][0], [h]))
    for link, cut in candidates:
        if not cut:
            continue
        a, b = net.gid[net.la[link]], net.gid[net.lb[link]]
        pa, pb = net.ia[link], net.ib[link]
        links.append(NetworkLinkSpof(
            topo.uid(a), topo.uid(b), topo.uid(pa) if pa >= 0 else None, topo.uid(pb) if pb >= 0 else None,
            topo.vocab.types[net.rel_type[link]], [topo.uid(net.gid[w]) for w in cut],
        ))
    return devices, links
