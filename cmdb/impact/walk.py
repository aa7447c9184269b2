"""Plain-Python impact walk for small blast radii, and the list form both paths grade into.

The vectorised path (:mod:`cmdb.impact.propagation`) pays ~25 numpy calls per
level whatever the frontier's size: on the typical question (a few dozen CIs)
that overhead is most of the cost. :func:`walk` answers the same question with
dicts and lists over :class:`PlainAdjacency` (each CI's propagation edges as
Python tuples, read from the view's arrays once per view and CI), and gives up
(returns None) once the reach grows past a limit, so large questions stay on
the vectorised path.

Both paths produce a :class:`Walked` with identical contents: same discovery
order (edges are met in the order ``Topology.expand`` returns them: base rows
node by node, then overlay edges in overlay order), same first-discovery parents,
same deduplicated edges, same least fixpoint and shortest causal chains with the
same tie-breaks. ``tests/unit/impact/test_fast_path.py`` asserts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cmdb.impact.models import Truncation
from cmdb.impact.propagation import Filters, Grading, GroupMemo, Reach, group_arithmetic
from cmdb.topology.arrays import edge_key
from cmdb.topology.snapshot import Topology

# A propagation edge leaving a CI: (impacted CI, type id, flip, effective confidence, feeds its group?).
OutEdge = tuple[int, int, bool, float, bool]
# An overlay edge leaving a CI: (position in the overlay, *OutEdge).
ExtraEdge = tuple[int, int, int, bool, float, bool]

_NO_GROUP = 1 << 62  # tolerance of a CI without a group input in play: never tips
# CIs whose edge tuples a view keeps (~0.5 KB each with a few edges); past it they are read each time.
PLAIN_CACHE_CIS = 250_000


@dataclass(slots=True)
class Walked:
    """An impact walk in plain lists, per reached position (discovery order, roots first).

    ``e_*`` are the deduplicated propagation edges among reached CIs (into non-roots),
    by position; ``down_edge`` indexes them (-1: root or degraded). Group lists:
    ``group_size`` 0 means no group input in play.
    """

    order: list[int]
    class_ids: list[int]
    depth: list[int]
    parent: list[int]
    via_type: list[int]
    via_flip: list[bool]
    n_roots: int
    truncated_by: tuple[Truncation, ...]
    down: list[bool]
    down_edge: list[int]
    e_frm: list[int]
    e_type: list[int]
    e_flip: list[bool]
    e_grouped: list[bool]
    group_size: list[int]
    group_down: list[int]
    required: list[int]
    n_down: int = -1  # positions [0, n_down) are down roots, [n_down, n_roots) degraded seeds (-1: all roots)
    unknown: list[int] = field(default_factory=list)  # next CIs past the depth limit or the budget (sorted ids)

    def __post_init__(self) -> None:
        if self.n_down < 0:
            self.n_down = self.n_roots

    @classmethod
    def of(cls, topo: Topology, r: Reach, g: Grading) -> Walked:
        """The vectorised path's answer in list form."""
        return cls(
            order=r.order.tolist(),
            class_ids=topo.nodes.class_id[r.order].tolist(),
            depth=r.depth.tolist(),
            parent=r.parent.tolist(),
            via_type=r.via_type.tolist(),
            via_flip=r.via_flip.tolist(),
            n_roots=r.n_roots,
            truncated_by=r.truncated_by,
            down=g.down.tolist(),
            down_edge=g.down_edge.tolist(),
            e_frm=r.pos[g.edges.frm].tolist() if len(g.edges) else [],
            e_type=g.edges.etype.tolist(),
            e_flip=g.edges.flip.tolist(),
            e_grouped=g.edge_grouped.tolist(),
            group_size=g.group_size.tolist(),
            group_down=g.group_down.tolist(),
            required=g.required.tolist(),
            n_down=r.down_roots,
            unknown=[] if r.unknown is None else r.unknown.tolist(),
        )


class PlainAdjacency:
    """The forward propagation edges of one view as Python tuples, filled per CI on first use.

    Valid for its view only (a new view may mask, add or regroup edges); readers of
    one view may share it (filling an entry twice gives the same entry). At most
    ``PLAIN_CACHE_CIS`` CIs are kept; others are read from the arrays each time.
    """

    __slots__ = ("_base", "_class_id", "_extra", "_group", "_masked", "service", "topo")

    def __init__(self, topo: Topology) -> None:
        self.topo = topo
        self._class_id = topo.nodes.class_id
        self._group: list[list[bool]] = topo.vocab.group_table.tolist()
        self.service: list[bool] = topo.vocab.service_classes.tolist()
        self._masked: set[int] = set(topo.overlay.masked.tolist())
        # Tuples of atoms only: the collector stops tracking them (a view's cache of
        # up to PLAIN_CACHE_CIS lists would be walked by every full collection).
        self._base: dict[int, tuple[int, tuple[OutEdge, ...]]] = {}
        extra: dict[int, list[ExtraEdge]] = {}
        ov = topo.overlay.edges
        if len(ov):
            to = ov.to.tolist()
            to_class = self._class_id[ov.to].tolist()
            group = self._group
            for i, (u, v, t, f, c, k) in enumerate(zip(
                ov.frm.tolist(), to, ov.etype.tolist(), ov.flip.tolist(), ov.conf.tolist(), to_class, strict=True,
            )):
                extra.setdefault(u, []).append((i, v, t, f, c, group[k][t]))
        self._extra = extra

    def node(self, u: int) -> tuple[int, tuple[OutEdge, ...]]:
        """CI ``u``'s class id and its base propagation edges (masked ones left out)."""
        hit = self._base.get(u)
        if hit is not None:
            return hit
        fwd = self.topo.fwd
        edges: list[OutEdge] = []
        if u < fwd.n_nodes:
            lo, hi = int(fwd.indptr[u]), int(fwd.indptr[u + 1])
            if hi > lo:
                nbr = fwd.nbr[lo:hi]
                group = self._group
                masked = self._masked
                for v, t, f, c, k in zip(
                    nbr.tolist(), fwd.etype[lo:hi].tolist(), fwd.flip[lo:hi].tolist(), fwd.conf[lo:hi].tolist(),
                    self._class_id[nbr].tolist(), strict=True,
                ):
                    if masked and (edge_key(v, u, t) if f else edge_key(u, v, t)) in masked:
                        continue
                    edges.append((v, t, f, c, group[k][t]))
        hit = (int(self._class_id[u]), tuple(edges))
        if len(self._base) < PLAIN_CACHE_CIS:
            self._base[u] = hit
        return hit

    def leaving(self, nodes: list[int], filters: Filters) -> list[tuple[int, Sequence[OutEdge]]]:
        """``Topology.expand(nodes, forward=True)`` as (from, edges) groups, in the same edge order."""
        type_ok, min_conf = filters.type_ok, filters.min_confidence
        any_type = type_ok is None or bool(type_ok.all())
        if not self._extra and any_type and min_conf <= 0.0:
            return [(u, self.node(u)[1]) for u in nodes]  # the common case: each CI's edge list as is
        out: list[tuple[int, Sequence[OutEdge]]] = [(u, (e,)) for u in nodes for e in self.node(u)[1]]
        if self._extra:
            extra = [(x, u) for u in nodes for x in self._extra.get(u, ())]
            extra.sort()
            out.extend((u, (x[1:],)) for x, u in extra)
        if not any_type:
            ok = type_ok.tolist()  # type: ignore[union-attr]  # not any_type: type_ok is an array
            out = [(u, es) for u, es in out if ok[es[0][1]]]
        if min_conf > 0.0:
            floor = float(np.float32(min_conf))
            out = [(u, es) for u, es in out if es[0][3] >= floor]
        return out


def walk(
    adj: PlainAdjacency,
    roots: list[int],
    *,
    max_depth: int,
    max_nodes: int,
    blocked: set[int],
    filters: Filters,
    memo: GroupMemo | None,
    limit: int,
    seeds: list[int] | None = None,
) -> Walked | None:
    """Reach and grade like ``reach`` + ``grade``, or None once more than ``limit`` CIs are reached.

    ``roots`` sorted and distinct; ``blocked`` holds no root. ``seeds``: degraded
    seeds (sorted, distinct, no root), reached at depth 0 after the roots.
    """
    n_down = len(roots)
    if seeds:
        roots = roots + seeds
    n_roots = len(roots)
    pos: dict[int, int] = {nid: p for p, nid in enumerate(roots)}
    order = list(roots)
    depth = [0] * n_roots
    parent = [-1] * n_roots
    via_type = [0] * n_roots
    via_flip = [False] * n_roots
    truncated: list[Truncation] = []
    unknown: list[int] = []
    frontier = list(roots)
    finished = True  # the depth limit, not an empty frontier or the budget, ended the walk
    for level in range(1, max_depth + 1):
        if not frontier:
            finished = False
            break
        found: dict[int, tuple[int, int, bool]] = {}
        for u, edges in adj.leaving(frontier, filters):
            pu = pos[u]
            for v, t, f, _c, _g in edges:
                if v not in pos and v not in found and v not in blocked:
                    found[v] = (pu, t, f)
        if not found:
            frontier = []
            finished = False
            break
        room = max_nodes - len(order)
        fresh = list(found)
        if len(fresh) > room:
            truncated.append(Truncation.MAX_NODES)
            unknown = sorted(fresh[max(room, 0):])
            fresh = fresh[: max(room, 0)]
        for v in fresh:
            pos[v] = len(order)
            order.append(v)
            p, t, f = found[v]
            depth.append(level)
            parent.append(p)
            via_type.append(t)
            via_flip.append(f)
        if len(order) > limit:
            return None
        frontier = fresh
        if truncated:
            finished = False
            break
    if finished and frontier and max_depth >= 0:
        unknown = sorted({
            v for _u, edges in adj.leaving(frontier, filters) for v, *_ in edges if v not in pos and v not in blocked
        })
        if unknown:
            truncated.append(Truncation.MAX_DEPTH)
    walked = _grade(adj, order, pos, depth, parent, via_type, via_flip, n_roots, tuple(truncated), filters, memo, n_down)
    walked.unknown = unknown
    return walked


def _grade(
    adj: PlainAdjacency,
    order: list[int],
    pos: dict[int, int],
    depth: list[int],
    parent: list[int],
    via_type: list[int],
    via_flip: list[bool],
    n_roots: int,
    truncated_by: tuple[Truncation, ...],
    filters: Filters,
    memo: GroupMemo | None,
    n_down: int,
) -> Walked:
    """``propagation.grade`` over lists: the same edges, fixpoint and shortest causes."""
    size = len(order)
    e_frm: list[int] = []
    e_to: list[int] = []
    e_type: list[int] = []
    e_flip: list[bool] = []
    e_grouped: list[bool] = []
    seen: set[int] = set()
    for u, edges in adj.leaving(order, filters):
        fp = pos[u]
        for v, t, f, _c, g in edges:
            tp = pos.get(v)
            if tp is None or tp < n_down:
                continue
            key = (fp * size + tp) * 2 + g  # one edge per (input, CI, grouped?)
            if key in seen:
                continue
            seen.add(key)
            e_frm.append(fp)
            e_to.append(tp)
            e_type.append(t)
            e_flip.append(f)
            e_grouped.append(g)

    group_size = [0] * size
    required = [0] * size
    tolerance = [_NO_GROUP] * size
    gpos = sorted({tp for tp, g in zip(e_to, e_grouped, strict=True) if g})
    if gpos:
        arithmetic = group_arithmetic(adj.topo, [order[p] for p in gpos], filters, memo)
        for p, (n_inputs, need) in zip(gpos, arithmetic, strict=True):
            group_size[p], required[p], tolerance[p] = n_inputs, need, n_inputs - need

    # Least fixpoint of down-ness (order-free: the set and the group counts do not depend on it).
    out: list[list[int]] = [[] for _ in range(size)]
    for e, fp in enumerate(e_frm):
        out[fp].append(e)
    down = [False] * size
    group_down = [0] * size
    stack = list(range(n_down))
    for p in stack:
        down[p] = True
    while stack:
        fp = stack.pop()
        for e in out[fp]:
            tp = e_to[e]
            if e_grouped[e]:
                group_down[tp] += 1
                if group_down[tp] <= tolerance[tp]:
                    continue
            if not down[tp]:
                down[tp] = True
                stack.append(tp)

    # Shortest causal chains, plain inputs before group inputs, then edge order (as _shortest_causes).
    causal_plain: list[int] = []
    causal_group: list[int] = []
    for e in range(len(e_frm)):
        tp = e_to[e]
        if down[e_frm[e]] and down[tp]:
            if not e_grouped[e]:
                causal_plain.append(e)
            elif group_down[tp] > tolerance[tp]:
                causal_group.append(e)
    by_frm: dict[int, list[tuple[int, int]]] = {}
    for rank, e in enumerate(causal_plain + causal_group):
        by_frm.setdefault(e_frm[e], []).append((rank, e))
    down_edge = [-1] * size
    reached = [False] * size
    for p in range(n_down):
        reached[p] = True
    level_nodes = list(range(n_down))
    while level_nodes:
        cands = [c for p in level_nodes for c in by_frm.get(p, ())]
        cands.sort()
        level_nodes = []
        for _rank, e in cands:
            tp = e_to[e]
            if not reached[tp]:
                reached[tp] = True
                down_edge[tp] = e
                level_nodes.append(tp)

    class_ids = [adj.node(nid)[0] for nid in order]
    return Walked(
        order, class_ids, depth, parent, via_type, via_flip, n_roots, truncated_by,
        down, down_edge, e_frm, e_type, e_flip, e_grouped, group_size, group_down, required, n_down,
    )
