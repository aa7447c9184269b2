"""Single points of failure of a service, on the bounded dependency subgraph (networkx)."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Container

import networkx as nx
import numpy as np

from cmdb.impact.explain import edge_step
from cmdb.impact.models import PathStep, SpofCI
from cmdb.impact.propagation import Filters, Reach, group_sizes, required_up
from cmdb.topology.snapshot import Topology


def dependency_graph(topo: Topology, r: Reach, filters: Filters) -> nx.DiGraph:
    """Propagation edges among the reached CIs, nodes by position; ``grouped`` on each edge.

    Between two CIs a plain edge wins over a group edge: it alone takes the CI down.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(range(int(r.order.shape[0])))
    edges = topo.expand(r.order, True, filters.type_ok, filters.min_confidence)
    to_pos = r.pos[edges.to]
    edges = edges.take(to_pos >= 0)
    grouped = topo.grouped(edges).tolist()
    for u, v, g, t, f in zip(
        r.pos[edges.frm].tolist(), r.pos[edges.to].tolist(), grouped, edges.etype.tolist(), edges.flip.tolist(),
        strict=True,
    ):
        if u == v:
            continue
        data = graph.get_edge_data(u, v)
        if data is None or (data["grouped"] and not g):
            graph.add_edge(u, v, grouped=g, etype=t, flip=f)
    return graph


def tolerances(topo: Topology, r: Reach, graph: nx.DiGraph, filters: Filters) -> dict[int, int]:
    """Per position with group inputs: how many of them may be down before it goes down."""
    gpos = sorted({v for _, v, g in graph.edges(data="grouped") if g})
    if not gpos:
        return {}
    ids = r.order[np.array(gpos, dtype=np.intp)]
    sizes = group_sizes(topo, ids, filters).tolist()
    return {
        p: n - required_up(topo, int(nid), n) for p, nid, n in zip(gpos, ids.tolist(), sizes, strict=True)
    }


def takes_down(
    graph: nx.DiGraph, tolerance: dict[int, int], failed: int, targets: Container[int]
) -> tuple[int, dict[int, int]] | None:
    """Simulate the loss of ``failed`` alone; (the target reached, down-parents) if one goes down."""
    parent = {failed: -1}
    group_down: dict[int, int] = {}
    queue = deque([failed])
    while queue:
        u = queue.popleft()
        for v, data in graph.adj[u].items():
            if v in parent:
                continue
            if data["grouped"]:
                group_down[v] = group_down.get(v, 0) + 1
                if group_down[v] <= tolerance.get(v, 0):
                    continue
            parent[v] = u
            if v in targets:
                return v, parent
            queue.append(v)
    return None


def single_points_of_failure(topo: Topology, r: Reach, filters: Filters) -> list[SpofCI]:
    """CIs of the dependency reach ``r`` (rooted at one service) whose loss alone takes it down.

    Candidates are examined nearest first. Down-ness is monotone, so a candidate whose
    loss takes down a known single point of failure is one too: its simulation stops
    there and its path continues along that one's.
    """
    graph = dependency_graph(topo, r, filters)
    tolerance = tolerances(topo, r, graph, filters)
    order = r.order.tolist()
    depth = r.depth.tolist()
    known: dict[int, list[PathStep]] = {0: []}  # position -> path from it to the service (service: none)
    found: list[SpofCI] = []
    for p in range(r.n_roots, len(order)):
        hit = takes_down(graph, tolerance, p, known.keys())
        if hit is None:
            continue
        reached, parent = hit
        chain = [reached]
        while parent[chain[-1]] != -1:
            chain.append(parent[chain[-1]])
        chain.reverse()  # from the failed CI to the reached one
        nid = order[p]
        path: list[PathStep] = [PathStep(topo.uid(nid), topo.name(nid), topo.class_name(nid))]
        for a, b in itertools.pairwise(chain):
            data = graph.edges[a, b]
            path.append(edge_step(topo, order[a], order[b], data["etype"], data["flip"]))
        path.extend(known[reached][1:])
        known[p] = path
        found.append(SpofCI(topo.uid(nid), topo.class_name(nid), topo.name(nid), depth[p], path))
    return found
