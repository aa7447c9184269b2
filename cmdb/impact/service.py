"""ImpactService: impact, dependencies, paths and single points of failure.

Every query takes the index's current view once and runs on it alone; names,
classes and owners come from the index, never from per-node store calls.
"""

from __future__ import annotations

from itertools import islice, pairwise

import networkx as nx
import numpy as np

from cmdb.impact.errors import InvalidRequest, UnknownCI, UnknownRelationshipType
from cmdb.impact.explain import SeedCauses, edge_step, impacted_cis, node_step, paths_by_parent
from cmdb.impact.models import (
    DependencyCI,
    DependencyReport,
    DependencyRequest,
    Grade,
    GroupState,
    ImpactedCI,
    ImpactReport,
    ImpactRequest,
    NetworkSpofReport,
    NetworkState,
    PathReport,
    PathStep,
    ServiceImpact,
    SpofReport,
    Truncation,
    UngradedCI,
)
from cmdb.impact.netspof import network_spofs, site_of
from cmdb.impact.network import NetGrade, grade_network
from cmdb.impact.propagation import Filters, GroupMemo, Reach, grade, group_sizes, reach, required_up
from cmdb.impact.spof import single_points_of_failure
from cmdb.impact.walk import PlainAdjacency, Walked, walk
from cmdb.topology.arrays import Int32s
from cmdb.topology.index import TopologyIndex
from cmdb.topology.network import NetworkGraph
from cmdb.topology.snapshot import Topology
from schema import Schema

#: Impact questions reaching at most this many CIs are answered by the plain-Python walk.
FAST_PATH_LIMIT = 400
#: Rounds of network grading and propagation feeding each other (two settle every case met so far).
_NETWORK_ROUNDS = 4


class ImpactService:
    """Read-side analyses over a :class:`TopologyIndex`.

    ``fast_path_limit``: an impact question whose reach stays within this many CIs is
    answered by the plain-Python walk (:mod:`cmdb.impact.walk`), larger ones by the
    vectorised path; both give the same answer. 0 always takes the vectorised path;
    None: :data:`FAST_PATH_LIMIT`.
    """

    def __init__(self, index: TopologyIndex, schema: Schema, fast_path_limit: int | None = None) -> None:
        self._index = index
        self._schema = schema
        self._fast_limit = FAST_PATH_LIMIT if fast_path_limit is None else fast_path_limit
        # Group arithmetic of the CIs graded so far on one view, default filters: a CI's
        # group size and min_up change only with a new view (every applied change set).
        self._groups: tuple[Topology | None, GroupMemo] = (None, {})
        # The plain walk's per-CI edge tuples, for one view (filled as questions touch CIs).
        self._plain: PlainAdjacency | None = None
        self._retired_ids: tuple[Topology | None, Int32s] = (None, np.empty(0, np.int32))

    def _retired(self, topo: Topology) -> Int32s:
        """The retired CIs of a view (sorted ids), computed once per view."""
        view, ids = self._retired_ids
        if view is not topo:
            statuses = topo.nodes.statuses
            ids = np.array([i for i in range(topo.n) if statuses[i] == "retired"], np.int32)
            self._retired_ids = (topo, ids)
        return ids

    def _plain_adjacency(self, topo: Topology) -> PlainAdjacency:
        adj = self._plain
        if adj is None or adj.topo is not topo:
            adj = PlainAdjacency(topo)
            self._plain = adj  # concurrent readers of different views only lose entries
        return adj

    def _group_memo(self, topo: Topology, filters: Filters) -> GroupMemo | None:
        if filters.type_ok is not None or filters.min_confidence != 0.0:
            return None
        view, memo = self._groups
        if view is not topo:
            # Concurrent readers of different views may swap this back and forth: they only lose entries.
            memo = {}
            self._groups = (topo, memo)
        return memo

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _ids(topo: Topology, uids: tuple[str, ...] | list[str], strict: bool = True) -> Int32s:
        ids: list[int] = []
        missing: list[str] = []
        for uid in uids:
            nid = topo.id_of(uid)
            if nid is None:
                missing.append(uid)
            else:
                ids.append(nid)
        if missing and strict:
            raise UnknownCI(missing)
        return np.array(ids, dtype=np.int32)

    def _filters(self, topo: Topology, rel_types: tuple[str, ...] | None, min_confidence: float) -> Filters:
        if rel_types is not None:
            unknown = [t for t in rel_types if t not in self._schema.relationships]
            if unknown:
                raise UnknownRelationshipType(unknown)
        return Filters(None if rel_types is None else topo.vocab.type_mask(rel_types), float(min_confidence))

    @staticmethod
    def _bounds(max_depth: int, max_nodes: int) -> None:
        if max_depth < 0:
            raise InvalidRequest("max_depth must be >= 0")
        if max_nodes < 1:
            raise InvalidRequest("max_nodes must be >= 1")

    # -- impact --------------------------------------------------------------------------
    def impact(self, request: ImpactRequest) -> ImpactReport:
        """Every CI impacted if ``request.uids`` go down: graded, explained, rolled up to services.

        The requested CIs are listed first (depth 0, down). Exclusions never apply
        to them; unknown uids (requested or excluded) raise :class:`UnknownCI`.
        """
        if not request.uids:
            raise InvalidRequest("an impact request needs at least one CI")
        self._bounds(request.max_depth, request.max_nodes)
        topo = self._index.view()
        roots = self._ids(topo, request.uids)
        blocked = self._ids(topo, request.exclude)
        if blocked.shape[0]:  # np.isin costs ~0.1 ms even on empty arrays
            blocked = blocked[~np.isin(blocked, roots)]
        filters = self._filters(topo, request.rel_types, request.min_confidence)
        distinct_roots = sorted(set(roots.tolist()))
        max_nodes = max(request.max_nodes, len(distinct_roots))
        memo = self._group_memo(topo, filters)
        uplinks = None if request.uplinks is None else tuple(sorted(set(self._ids(topo, request.uplinks).tolist())))
        net = topo.network(uplinks, request.min_confidence)
        # A retired CI is out of service: impact stops there (it is listed as such, not graded).
        retired = self._retired(topo)
        if retired.shape[0]:
            gate = retired[~np.isin(retired, roots)]
            blocked = np.union1d(blocked, gate).astype(np.int32)
        blocked_set = set(blocked.tolist())

        def run(down: list[int], seeds: list[int], quiet: set[int] = frozenset()) -> Walked:  # type: ignore[assignment]  # read only: immutable default
            # ``quiet``: the ports of CIs the network layer degraded; fewer paths do not degrade a port.
            walked: Walked | None = None
            stop = blocked_set | quiet if quiet else blocked_set
            if 0 < len(down) + len(seeds) <= self._fast_limit:  # more seeds than the walk's limit: no try
                walked = walk(
                    self._plain_adjacency(topo), down, max_depth=request.max_depth, max_nodes=max(max_nodes, len(down) + len(seeds)),
                    blocked=stop, filters=filters, memo=memo, limit=self._fast_limit, seeds=seeds,
                )
            if walked is None:
                r = reach(
                    topo, np.array(down, np.int32), forward=True, max_depth=request.max_depth,
                    max_nodes=max(max_nodes, len(down) + len(seeds)), blocked=np.array(sorted(stop), np.int32) if quiet else blocked,
                    filters=filters, seeds=np.array(seeds, np.int32),
                )
                walked = Walked.of(topo, r, grade(topo, r, filters, memo))
            return walked

        # The network layer and propagation feed each other: what propagation takes down
        # may cut CIs off the network, and what is cut off propagates up to its services.
        walked = run(distinct_roots, [])
        net_grades: dict[int, NetGrade] = {}
        if net is not None:
            requested = set(distinct_roots)
            seen_failed: set[int] | None = None
            for _ in range(_NETWORK_ROUNDS):
                net_down = {nid for nid, g in net_grades.items() if g.down}
                # What the network cut off is not a failure of the network, nor are its ports
                # (down with it, their cables still up): fed back, a host cut off would
                # explain itself through its own NIC.
                cut_off = sorted(nid for nid, g in net_grades.items() if g.down and not g.port)
                consequences = net_down | (_ports_of(net, cut_off) - requested)
                failed = {
                    nid for nid, d in zip(walked.order, walked.down, strict=True) if d and nid not in consequences
                }
                if failed == seen_failed:
                    break
                seen_failed = failed
                found = grade_network(net, failed)
                found = {nid: g for nid, g in found.items() if nid not in blocked_set and nid not in requested}
                if found.keys() == net_grades.keys() and all(found[k].down == net_grades[k].down for k in found):
                    net_grades = found
                    break
                net_grades = found
                down = sorted(requested | {nid for nid, g in found.items() if g.down})
                degraded = sorted(nid for nid, g in found.items() if not g.down)
                # A degraded CI's ports that lost their links are down (roots): the others are quiet.
                walked = run(down, degraded, _ports_of(net, degraded) - requested.union(down))
        seeds: SeedCauses | None = None
        graded: list[tuple[int, NetGrade, str]] = []
        if net_grades:
            assert net is not None
            seeds, graded = _network_seeds(topo, net, walked, net_grades)
        impacted = impacted_cis(topo, walked, request.explain, seeds)
        positions: range | list[int] = range(len(impacted))
        truncated_by = walked.truncated_by
        beyond: list[ImpactedCI] = []
        if net_grades:
            impacted, positions, truncated_by, beyond = _network_answers(
                topo, walked, impacted, graded, net_grades, request.max_depth, truncated_by,
            )
        ids = [walked.order[p] for p in positions]
        unknown = _ungraded(topo, walked, impacted, ids, beyond, retired, filters, request.explain)
        services: list[ServiceImpact] = []
        owners: set[str] = set()
        is_service = topo.vocab.service_classes.tolist()
        class_ids = walked.class_ids
        all_owners = topo.nodes.owners
        for ci, p, nid in zip(impacted, positions, ids, strict=True):
            if not is_service[class_ids[p]]:
                continue
            owner = all_owners[nid]
            services.append(ServiceImpact(ci.uid, ci.name, ci.ci_class, ci.grade, owner))
            if owner:
                owners.add(owner)
        return ImpactReport(
            impacted=impacted,
            truncated=bool(truncated_by),
            services=services,
            owners=sorted(owners),
            truncated_by=truncated_by,
            unknown=unknown,
        )

    # -- dependencies --------------------------------------------------------------------
    def dependencies(self, request: DependencyRequest) -> DependencyReport:
        """Everything ``request.uid`` needs (its inputs, transitively), nearest first."""
        self._bounds(request.max_depth, request.max_nodes)
        topo = self._index.view()
        root = self._ids(topo, [request.uid])
        blocked = self._ids(topo, request.exclude)
        blocked = blocked[blocked != root[0]]
        filters = self._filters(topo, request.rel_types, request.min_confidence)
        r = reach(
            topo, root, forward=False, max_depth=request.max_depth, max_nodes=request.max_nodes + 1,
            blocked=blocked, filters=filters,
        )
        order = r.order.tolist()
        parent = r.parent.tolist()
        via_type = r.via_type.tolist()
        via_flip = r.via_flip.tolist()
        depth = r.depth.tolist()
        redundant = _behind_redundancy(topo, r, filters)

        def step_of(p: int) -> PathStep:
            if p == 0:
                return node_step(topo, order[0])
            return edge_step(topo, order[parent[p]], order[p], via_type[p], via_flip[p], forward=False)

        paths = paths_by_parent(len(order), step_of, lambda p: parent[p] if p else -1)
        deps = [
            DependencyCI(topo.uid(nid), topo.class_name(nid), topo.name(nid), depth[p], list(paths[p]), redundant[p])
            for p, nid in enumerate(order)
            if p > 0
        ]
        return DependencyReport(request.uid, deps, bool(r.truncated_by), r.truncated_by)

    # -- paths -----------------------------------------------------------------------------
    def paths(
        self,
        a: str,
        b: str,
        max_paths: int = 10,
        max_depth: int = 6,
        rel_types: tuple[str, ...] | None = None,
        min_confidence: float = 0.0,
        max_nodes: int = 50_000,
    ) -> PathReport:
        """How a failure of ``a`` reaches ``b``: the shortest path and all simple paths
        up to ``max_paths`` and ``max_depth`` hops, shortest first (networkx on the
        subgraph of CIs lying on some a->b walk within the depth)."""
        self._bounds(max_depth, max_nodes)
        topo = self._index.view()
        ids = self._ids(topo, [a, b])
        src, dst = int(ids[0]), int(ids[1])
        if src == dst:
            only = [node_step(topo, src)]
            return PathReport(a, b, only, [only], False)
        filters = self._filters(topo, rel_types, min_confidence)
        none = np.empty(0, np.int32)
        from_a = reach(topo, ids[:1], forward=True, max_depth=max_depth, max_nodes=max_nodes, blocked=none, filters=filters)
        to_b = reach(topo, ids[1:], forward=False, max_depth=max_depth, max_nodes=max_nodes, blocked=none, filters=filters)
        graph = _between(topo, from_a, to_b, max_depth, filters)
        if dst not in graph or src not in graph:
            return PathReport(a, b, [], [], False)
        found: list[list[PathStep]] = []
        truncated = False
        try:
            for nodes in islice(nx.shortest_simple_paths(graph, src, dst), max_paths + 1):
                if len(nodes) - 1 > max_depth:
                    break
                if len(found) == max_paths:
                    truncated = True
                    break
                steps = [node_step(topo, nodes[0])]
                for u, v in pairwise(nodes):
                    data = graph.edges[u, v]
                    steps.append(edge_step(topo, u, v, data["etype"], data["flip"]))
                found.append(steps)
        except nx.NetworkXNoPath:
            pass
        return PathReport(a, b, found[0] if found else [], found, truncated)

    # -- network single points of failure ------------------------------------------------
    def network_single_points_of_failure(
        self,
        uid: str,
        max_nodes: int = 5_000,
        max_depth: int = 10,
        uplinks: tuple[str, ...] | None = None,
    ) -> NetworkSpofReport:
        """Devices and links whose loss alone cuts something off the uplinks.

        For an attached CI (a switch, a router, a host): its site, the connected part of
        the network holding it, and everything there each one cuts off. For anything
        else (a service): the attached CIs it needs (its dependencies within
        ``max_depth``), the parts holding them, and which of them each one cuts off.
        At most ``max_nodes`` attached CIs are examined (``truncated`` says so).
        """
        self._bounds(max_depth, max_nodes)
        topo = self._index.view()
        root = self._ids(topo, [uid])
        up_ids = None if uplinks is None else tuple(sorted(set(self._ids(topo, uplinks).tolist())))
        net = topo.network(up_ids)
        if net is None:
            raise InvalidRequest("the schema declares no network layer")
        nid = int(root[0])
        targets: list[int] | None
        if nid in net.local:
            starts = [net.local[nid]]
            targets = None
        else:
            r = reach(topo, root, forward=False, max_depth=max_depth, max_nodes=max_nodes,
                      blocked=np.empty(0, np.int32), filters=Filters(None, 0.0))
            starts = sorted({net.local[x] for x in r.order.tolist() if x in net.local})
            targets = starts
        if not starts:
            return NetworkSpofReport(uid, [], [], 0, False)
        nodes, truncated = site_of(net, starts, max_nodes)
        devices, links = network_spofs(topo, net, nodes, targets)
        return NetworkSpofReport(uid, devices, links, len(nodes), truncated)

    # -- single points of failure --------------------------------------------------------
    def single_points_of_failure(
        self,
        service_uid: str,
        max_depth: int = 10,
        max_nodes: int = 2_000,
        rel_types: tuple[str, ...] | None = None,
        min_confidence: float = 0.0,
    ) -> SpofReport:
        """The dependencies of ``service_uid`` whose loss alone takes it down.

        Each candidate's loss is simulated on the bounded dependency subgraph with the
        redundancy arithmetic of :meth:`impact`; nearest first.
        """
        self._bounds(max_depth, max_nodes)
        topo = self._index.view()
        root = self._ids(topo, [service_uid])
        filters = self._filters(topo, rel_types, min_confidence)
        r = reach(
            topo, root, forward=False, max_depth=max_depth, max_nodes=max_nodes + 1,
            blocked=np.empty(0, np.int32), filters=filters,
        )
        spofs = single_points_of_failure(topo, r, filters)
        return SpofReport(service_uid, spofs, int(r.order.shape[0]) - 1, bool(r.truncated_by), r.truncated_by)


def _ports_of(net: NetworkGraph, nids: list[int]) -> set[int]:
    """The ports (global ids) on the network links of these attached CIs."""
    local, ports = net.local, net.ports
    out: set[int] = set()
    for nid in nids:
        out.update(ports[local[nid]])
    return out


def _via(topo: Topology, net: NetworkGraph, g: NetGrade) -> str:
    """The lost path's far end as a person names it: "acc1 Ethernet2" (device and port)."""
    local = net.local.get(g.cause)
    if local is None:  # a failed port
        owner = _port_owner(net, g.link, g.cause)
        return f"{topo.name(owner)} {topo.name(g.cause)}" if owner >= 0 else topo.name(g.cause)
    port = net.port_of(g.link, local)
    return f"{topo.name(g.cause)} {topo.name(port)}" if port >= 0 else topo.name(g.cause)


def _port_owner(net: NetworkGraph, link: int, port: int) -> int:
    if net.ia[link] == port:
        return net.gid[net.la[link]]
    if net.ib[link] == port:
        return net.gid[net.lb[link]]
    return -1


def _network_text(g: NetGrade, via: str) -> str:
    if g.port:
        if g.links_total == 1:
            return f"lost its link (to {via}) -> down"
        return f"lost its {g.links_total} links (one to {via}) -> down"
    if g.down:
        return f"lost its last path to the uplinks (via {via}) -> down"
    if g.rerouted:
        return f"0 of {g.paths_total} shortest paths left (lost via {via}), connected over a longer one -> degraded"
    return f"{g.paths_left} of {g.paths_total} paths left (lost via {via}) -> degraded"


def _network_seeds(
    topo: Topology, net: NetworkGraph, walked: Walked, grades: dict[int, NetGrade],
) -> tuple[SeedCauses, list[tuple[int, NetGrade, str]]]:
    """How the CIs the network layer graded (roots of the walk) are explained, and their arithmetic.

    A graded CI's path is its cause's path plus the lost link, unless propagation
    took it down through another input (that explanation stands). Returns the
    explanations and (position, grade, via) of every graded CI the walk holds with
    its cause.
    """
    order = walked.order
    pos = {nid: p for p, nid in enumerate(order)}
    cause: dict[int, int] = {}
    graded: list[tuple[int, NetGrade, str]] = []
    why: dict[int, tuple[NetGrade, str]] = {}
    down = walked.down
    for nid, g in grades.items():
        p = pos.get(nid)
        c = pos.get(g.cause)
        if p is None or c is None:
            continue
        via = _via(topo, net, g)
        graded.append((p, g, via))
        if down[p] and not g.down:
            continue  # propagation took it down through another input: that explanation stands
        cause[p] = c
        why[p] = (g, via)
    types = topo.vocab.types

    def step(p: int) -> PathStep:
        nid, link = order[p], why[p][0].link
        return PathStep(topo.uid(nid), topo.name(nid), topo.class_name(nid), types[net.rel_type[link]],
                        topo.uid(net.rel_src[link]), topo.uid(net.rel_dst[link]))

    def text(p: int) -> str:
        return _network_text(*why[p])

    return SeedCauses(cause, step, text), graded


def _network_answers(
    topo: Topology,
    walked: Walked,
    impacted: list[ImpactedCI],
    graded: list[tuple[int, NetGrade, str]],
    grades: dict[int, NetGrade],
    max_depth: int,
    truncated_by: tuple[Truncation, ...],
) -> tuple[list[ImpactedCI], list[int], tuple[Truncation, ...], list[ImpactedCI]]:
    """The network layer's arithmetic on the CIs it graded; what it puts past ``max_depth`` left out.

    Returns the kept CIs, their positions in the walk, the truncation and the CIs
    past the depth limit (the answer says so).
    """
    for p, g, via in graded:
        ci = impacted[p]
        ci.network = NetworkState(g.links_up, g.links_total, g.paths_left, g.paths_total, 1, g.rerouted, via)
        ci.redundancy = GroupState(g.links_up, g.links_total, 1)
    # A switch or host with fewer paths does not make its ports degraded: leave those out.
    is_port = topo.vocab.network.interface.tolist()
    order, parent, down, class_ids = walked.order, walked.parent, walked.down, walked.class_ids
    quiet = {
        p for p in range(walked.n_roots, len(order))
        if is_port[class_ids[p]] and not down[p] and order[parent[p]] in grades
    }
    kept: list[ImpactedCI] = []
    positions: list[int] = []
    beyond: list[ImpactedCI] = []
    for p, ci in enumerate(impacted):
        if p in quiet:
            continue
        if ci.depth > max_depth:
            beyond.append(ci)
            continue
        kept.append(ci)
        positions.append(p)
    if beyond and Truncation.MAX_DEPTH not in truncated_by:
        truncated_by = (*truncated_by, Truncation.MAX_DEPTH)
    return kept, positions, truncated_by, beyond


def _ungraded(
    topo: Topology,
    walked: Walked,
    impacted: list[ImpactedCI],
    ids: list[int],
    beyond: list[ImpactedCI],
    retired: Int32s,
    filters: Filters,
    explain: bool,
) -> list[UngradedCI]:
    """What the answer does not grade (past its bounds, retired) and the grades that depend on it.

    Every graded CI (``ids``: their node ids) gets its lifecycle; a degraded one with
    inputs past the bounds (which could have taken it down) says how many it counted as up.
    """
    uid_to_id = topo.nodes.uid_to_id
    statuses = topo.nodes.statuses
    for ci, nid in zip(impacted, ids, strict=True):
        ci.lifecycle = statuses[nid]
    budget = (Truncation.MAX_NODES if Truncation.MAX_NODES in walked.truncated_by else Truncation.MAX_DEPTH).value
    depth_limit = Truncation.MAX_DEPTH.value
    out = _ungraded_cis(topo, walked.unknown, budget)
    out += [UngradedCI(ci.uid, ci.ci_class, ci.name, depth_limit) for ci in beyond]
    if retired.shape[0] and ids:
        edges = topo.expand(np.array(ids, np.int32), True, filters.type_ok, filters.min_confidence)
        hit = np.unique(edges.to[np.isin(edges.to, retired)])
        out += _ungraded_cis(topo, hit.tolist(), "retired")
    missing = [*walked.unknown, *(uid_to_id[ci.uid] for ci in beyond)]
    if missing and ids:
        edges = topo.expand(np.array(missing, np.int32), True, filters.type_ok, filters.min_confidence)
        graded = np.array(sorted(set(ids)), np.int32)
        inside = np.isin(edges.to, graded)
        pairs = np.unique(edges.to[inside].astype(np.int64) * topo.n + edges.frm[inside])
        targets, counts = np.unique(pairs // topo.n, return_counts=True)
        count_of = dict(zip(targets.tolist(), counts.tolist(), strict=True))
        for ci, nid in zip(impacted, ids, strict=True):
            k = count_of.get(nid, 0)
            if k and ci.grade is Grade.DEGRADED:  # counted as up, they might have taken it down
                ci.unknown_inputs = k
                if explain:
                    ci.explanation += f" ({k} input{'s' if k > 1 else ''} past the bounds counted as up)"
    return out


def _ungraded_cis(topo: Topology, nids: list[int], reason: str) -> list[UngradedCI]:
    """UngradedCI of each node id, for one reason (a core switch's answer lists ~13,000)."""
    if not nids:
        return []
    uids, names = topo.nodes.uids, topo.nodes.names
    classes = topo.vocab.classes
    class_of = topo.nodes.class_id[np.array(nids, np.int64)].tolist()
    return [
        UngradedCI(uids[n], classes[c], name if (name := names[n]) is not None else uids[n], reason)
        for n, c in zip(nids, class_of, strict=True)
    ]


def _behind_redundancy(topo: Topology, r: Reach, filters: Filters) -> list[bool]:
    """Per reached position of a dependency reach: is every way to it, within the reach,
    through a redundancy group that tolerates a loss (min_up below its size)?"""
    size = int(r.order.shape[0])
    edges = topo.expand(r.order, False, filters.type_ok, filters.min_confidence)
    edges = edges.take(r.pos[edges.frm] >= 0)
    grouped = topo.grouped(edges)
    consumers = np.unique(edges.to[grouped])
    tolerant = np.zeros(topo.n, np.bool_)
    if consumers.shape[0]:
        sizes = group_sizes(topo, consumers, filters).tolist()
        for nid, n_inputs in zip(consumers.tolist(), sizes, strict=True):
            tolerant[nid] = n_inputs - required_up(topo, nid, n_inputs) > 0
    hard = edges.take(~(grouped & tolerant[edges.to]))
    # Walk from the root over "hard" edges only (consumer -> input), level by level.
    consumer, needed = r.pos[hard.to], r.pos[hard.frm]
    seen = np.zeros(size, np.bool_)
    seen[0] = True
    frontier = seen.copy()
    while True:
        nxt = needed[frontier[consumer]]
        nxt = np.unique(nxt[~seen[nxt]])
        if not nxt.shape[0]:
            break
        seen[nxt] = True
        frontier = np.zeros(size, np.bool_)
        frontier[nxt] = True
    return (~seen).tolist()


def _between(topo: Topology, from_a: Reach, to_b: Reach, max_depth: int, filters: Filters) -> nx.DiGraph:
    """The propagation subgraph of CIs on some a->b walk of at most ``max_depth`` hops."""
    da = np.full(topo.n, -1, np.int64)
    db = np.full(topo.n, -1, np.int64)
    da[from_a.order] = from_a.depth
    db[to_b.order] = to_b.depth
    keep = (da >= 0) & (db >= 0) & (da + db <= max_depth)
    nodes = np.nonzero(keep)[0].astype(np.int32)
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes.tolist())
    if not nodes.shape[0]:
        return graph
    edges = topo.expand(nodes, True, filters.type_ok, filters.min_confidence)
    ok = keep[edges.to] & (da[edges.frm] + 1 + db[edges.to] <= max_depth)
    edges = edges.take(ok)
    for u, v, t, f in zip(edges.frm.tolist(), edges.to.tolist(), edges.etype.tolist(), edges.flip.tolist(), strict=True):
        if u != v and not graph.has_edge(u, v):
            graph.add_edge(u, v, etype=t, flip=f)
    return graph



