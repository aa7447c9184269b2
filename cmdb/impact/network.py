"""Grade a failure on the network layer: what loses its last path to the uplinks, what loses some.

Given the failed CIs (devices, hosts or ports), an attached CI is

- **down** when no path from it to an uplink avoids them (it is cut off);
- **degraded** when it is still connected but some of its shortest paths to the
  uplinks (the routes the intact network uses, LAG members counted apart) run
  through them;
- untouched otherwise.

A degraded CI's ports that lost every link (cabled to a failed CI or to a failed
port) are graded too: **down**, explained by the lost link. The other ports of a
degraded CI are not impacted, and a CI that is cut off takes its ports down with it
(containment), so neither is listed here.

Only CIs whose shortest paths cross a failure can change (the *affected* region,
found downstream of the failures along the shortest-path DAG); their surviving
shortest paths are counted in distance order, and those left with none are checked
for a longer detour. The work is proportional to the affected region, not to the
network.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from cmdb.topology.network import NetworkGraph


@dataclass(slots=True)
class NetGrade:
    """The network layer's verdict on one attached CI (global ids).

    ``cause``: the nearer CI (or the failed port) on a lost shortest path, which
    explains it; ``link``: the network link from ``cause`` to this CI.
    ``links_up``/``links_total``: its own links towards the uplinks still leading to
    a connected CI, of those it has; ``paths_left``/``paths_total``: its shortest
    paths to the uplinks that survive, of those it had. ``min_up`` is 1: one
    path to an uplink keeps a CI connected.
    """

    nid: int
    down: bool
    cause: int
    link: int
    links_up: int
    links_total: int
    paths_left: int
    paths_total: int
    rerouted: bool  # no shortest path left, still connected over a longer one
    port: bool = False  # a degraded CI's port that lost every link (links_* count its links)


def grade_network(g: NetworkGraph, failed: Collection[int]) -> dict[int, NetGrade]:
    """Per attached CI (global id) the failure changes, its grade; failed CIs are not listed."""
    local = g.local
    dist, up, down_adj, inc, transit = g.dist, g.up, g.down, g.inc, g.transit
    failed_ids = failed if isinstance(failed, (set, frozenset)) else set(failed)
    failed_nodes: set[int] = set()
    dead_links: set[int] = set()
    port_failed: dict[int, int] = {}  # dead link -> the failed port that killed it
    for nid in failed:
        u = local.get(nid)
        if u is not None:
            failed_nodes.add(u)
        for link in g.port_links.get(nid, ()):
            dead_links.add(link)
            port_failed.setdefault(link, nid)
    if not failed_nodes and not dead_links:
        return {}
    la, lb = g.la, g.lb

    # The affected region: every CI with a shortest path through a failed node or link.
    start: list[int] = []
    for link in dead_links:  # a lost link matters to its farther end when it is on that end's shortest paths
        a, b = la[link], lb[link]
        if dist[a] >= 0 and dist[b] >= 0:
            if dist[a] == dist[b] + 1 and transit[b]:
                start.append(a)
            elif dist[b] == dist[a] + 1 and transit[a]:
                start.append(b)
    affected: set[int] = set()
    stack = [*failed_nodes, *start]
    for u in start:
        if u not in failed_nodes:
            affected.add(u)
    while stack:
        u = stack.pop()
        for v in down_adj[u]:
            if v not in affected and v not in failed_nodes:
                affected.add(v)
                stack.append(v)
    if not affected:
        return {}
    ordered = sorted(affected, key=dist.__getitem__)
    paths = g.paths
    left: dict[int, float] = {}
    for u in ordered:
        total = 0.0
        for link, v in up[u]:
            if link in dead_links or v in failed_nodes:
                continue
            got = left.get(v)
            total += paths[v] if got is None else got
        left[u] = total

    # Those left with no shortest path: connected over a longer detour, or cut off?
    cut = {u for u in ordered if left[u] == 0.0}

    def connected(v: int) -> bool:
        return transit[v] and v not in failed_nodes and dist[v] >= 0 and (v not in affected or left[v] > 0.0)

    rerouted: set[int] = set()
    stack = [u for u in cut if any(link not in dead_links and connected(v) for link, v in inc[u])]
    rerouted.update(stack)
    while stack:
        u = stack.pop()
        if not transit[u]:
            continue
        for link, v in inc[u]:
            if v in cut and v not in rerouted and link not in dead_links:
                rerouted.add(v)
                stack.append(v)
    is_down = cut - rerouted

    gid = g.gid
    out: dict[int, NetGrade] = {}
    for u in ordered:
        links_up = 0
        cause_link = -1
        lost_above = -1
        for link, v in up[u]:
            if link in dead_links or v in failed_nodes or v in is_down:
                if cause_link < 0:
                    cause_link = link
            else:
                links_up += 1
                if lost_above < 0 and v in affected:
                    lost_above = link
        if cause_link < 0:  # every own link is up: a path was lost further up, through a degraded CI
            cause_link = lost_above
        far = lb[cause_link] if la[cause_link] == u else la[cause_link]
        # A link lost to a failed port is explained by the port, otherwise by the far end.
        lost_port = port_failed.get(cause_link) if far not in failed_nodes else None
        cause = gid[far] if lost_port is None else lost_port
        out[gid[u]] = NetGrade(
            nid=gid[u], down=u in is_down, cause=cause, link=cause_link, links_up=links_up,
            links_total=len(up[u]), paths_left=int(left[u]), paths_total=int(paths[u]), rerouted=u in rerouted,
        )
    # Lost links end at a failed CI or are dead: look for lost ports only at their ends.
    near: set[int] = set()
    for f in failed_nodes:
        near.update(v for _, v in inc[f])
    for link in dead_links:
        near.add(la[link])
        near.add(lb[link])
    for u in sorted(near, key=dist.__getitem__):
        if u in affected and u not in is_down:
            _lost_ports(g, u, dead_links, failed_nodes, failed_ids, port_failed, out)
    return out


def _lost_ports(
    g: NetworkGraph,
    u: int,
    dead_links: set[int],
    failed_nodes: set[int],
    failed: Collection[int],
    port_failed: dict[int, int],
    out: dict[int, NetGrade],
) -> None:
    """Grade the ports of degraded CI ``u`` that lost every link (cabled to a failed CI or port).

    ``links_up``/``links_total`` count the port's links; ``paths_total`` the shortest
    paths of ``u`` that ran through it (none are left).
    """
    la, lb, gid = g.la, g.lb, g.gid
    for port in g.ports[u]:
        if port in failed:
            continue
        links = g.port_links[port]
        lost = -1
        for link in links:
            far = lb[link] if la[link] == u else la[link]
            if link not in dead_links and far not in failed_nodes:
                break
            if lost < 0:
                lost = link
        else:
            far = lb[lost] if la[lost] == u else la[lost]
            cause = gid[far] if far in failed_nodes else port_failed[lost]
            through = sum(int(g.paths[v]) for link, v in g.up[u] if link in links)
            out[port] = NetGrade(
                nid=port, down=True, cause=cause, link=lost, links_up=0, links_total=len(links),
                paths_left=0, paths_total=through, rerouted=False, port=True,
            )
