"""Vectorised failure propagation on a topology view: reach, then grade.

``reach`` is a level-by-level frontier expansion over the CSR arrays (forward for
impact, reverse for dependencies) with depth, node budget and blocked CIs.

``grade`` decides down vs degraded inside the reached set. Every reached CI is at
least degraded (a down or degraded input always degrades it); it is down when an
input outside any redundancy group is down, or when more group inputs are down
than its min_up tolerates. Down-ness is a least fixpoint computed in rounds from
the failed CIs, so cycles are handled and the recorded down-parents form an
acyclic explanation chain back to a failed CI. Inputs outside the reached set
(beyond the depth limit or the budget) count as up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cmdb.impact.models import Truncation
from cmdb.topology.arrays import EdgeBatch, Int32s
from cmdb.topology.snapshot import Topology

UNSEEN = -1
BLOCKED = -2


@dataclass(frozen=True, slots=True)
class Reach:
    """CIs reached from the roots, in discovery order (the roots first).

    ``pos`` maps a node id to its position in ``order`` (or UNSEEN/BLOCKED).
    ``parent`` is the BFS parent's position (-1 for roots); ``via`` is the edge that
    reached it, in propagation orientation.
    """

    order: Int32s
    depth: Int32s
    parent: Int32s
    via_type: NDArray[np.int16]
    via_flip: NDArray[np.bool_]
    pos: Int32s
    n_roots: int
    truncated_by: tuple[Truncation, ...]
    n_down: int = -1  # roots [0, n_down) are down; [n_down, n_roots) are degraded seeds (-1: all down)
    unknown: Int32s | None = None  # CIs the walk would reach next, past the depth limit or the budget (sorted)

    @property
    def down_roots(self) -> int:
        return self.n_roots if self.n_down < 0 else self.n_down


@dataclass(frozen=True, slots=True)
class Filters:
    type_ok: NDArray[np.bool_] | None
    min_confidence: float


def reach(
    topo: Topology,
    roots: Int32s,
    *,
    forward: bool,
    max_depth: int,
    max_nodes: int,
    blocked: Int32s,
    filters: Filters,
    seeds: Int32s | None = None,
) -> Reach:
    """Breadth-first propagation from ``roots`` along propagation edges (or against them).

    ``seeds``: CIs already graded degraded (by the network layer), reached at depth 0
    after the roots; they propagate like any reached CI and may still turn down.
    """
    pos = np.full(topo.n, UNSEEN, dtype=np.int32)
    pos[blocked] = BLOCKED
    roots = np.unique(roots)
    n_down = int(roots.shape[0])
    if seeds is not None and seeds.shape[0]:
        seeds = np.setdiff1d(np.unique(seeds), roots).astype(np.int32)
        roots = np.concatenate([roots, seeds])
    pos[roots] = np.arange(roots.shape[0], dtype=np.int32)
    orders: list[Int32s] = [roots]
    depths: list[Int32s] = [np.zeros(roots.shape[0], np.int32)]
    parents: list[Int32s] = [np.full(roots.shape[0], -1, np.int32)]
    types: list[NDArray[np.int16]] = [np.zeros(roots.shape[0], np.int16)]
    flips: list[NDArray[np.bool_]] = [np.zeros(roots.shape[0], np.bool_)]
    count = int(roots.shape[0])
    frontier = roots
    truncated: list[Truncation] = []
    unknown: Int32s = np.empty(0, np.int32)
    for level in range(1, max_depth + 1):
        if not frontier.shape[0]:
            break
        edges = topo.expand(frontier, forward, filters.type_ok, filters.min_confidence)
        nxt, cur = (edges.to, edges.frm) if forward else (edges.frm, edges.to)
        new = np.nonzero(pos[nxt] == UNSEEN)[0]
        if not new.shape[0]:
            frontier = new.astype(np.int32)
            break
        uniq, first = np.unique(nxt[new], return_index=True)
        discovery = np.argsort(first, kind="stable")
        room = max_nodes - count
        if uniq.shape[0] > room:
            truncated.append(Truncation.MAX_NODES)
            unknown = np.sort(uniq[discovery[max(room, 0):]]).astype(np.int32)
            discovery = discovery[: max(room, 0)]
        uniq, first = uniq[discovery], first[discovery]
        rows = new[first]
        pos[uniq] = np.arange(count, count + uniq.shape[0], dtype=np.int32)
        count += int(uniq.shape[0])
        orders.append(uniq)
        depths.append(np.full(uniq.shape[0], level, np.int32))
        parents.append(pos[cur[rows]])
        types.append(edges.etype[rows])
        flips.append(edges.flip[rows])
        frontier = uniq
        if truncated:
            break
    else:
        # The depth limit ended the walk: say so if propagation would continue.
        if frontier.shape[0] and max_depth >= 0:
            edges = topo.expand(frontier, forward, filters.type_ok, filters.min_confidence)
            nxt = edges.to if forward else edges.frm
            beyond = pos[nxt] == UNSEEN
            if bool(beyond.any()):
                truncated.append(Truncation.MAX_DEPTH)
                unknown = np.unique(nxt[beyond]).astype(np.int32)
    return Reach(
        order=np.concatenate(orders),
        depth=np.concatenate(depths),
        parent=np.concatenate(parents),
        via_type=np.concatenate(types),
        via_flip=np.concatenate(flips),
        pos=pos,
        n_roots=int(roots.shape[0]),
        truncated_by=tuple(truncated),
        n_down=n_down,
        unknown=unknown,
    )


@dataclass(frozen=True, slots=True)
class Grading:
    """Down/degraded per reached position, with what decided it.

    ``edges`` are the deduplicated propagation edges among reached CIs; ``down_edge``
    indexes them (-1 for roots and degraded CIs). Group arrays are per position:
    ``group_size`` 0 means the CI has no group input in play.
    """

    down: NDArray[np.bool_]
    down_edge: NDArray[np.int64]
    edges: EdgeBatch
    edge_grouped: NDArray[np.bool_]
    group_size: NDArray[np.int64]
    group_down: NDArray[np.int64]
    required: NDArray[np.int64]


def group_sizes(topo: Topology, ids: Int32s, filters: Filters) -> NDArray[np.int64]:
    """Per CI in ``ids``: how many distinct inputs feed its redundancy group (under the filters)."""
    if not ids.shape[0]:
        return np.zeros(0, np.int64)
    inputs = topo.expand(ids, False, filters.type_ok, filters.min_confidence)
    inputs = inputs.take(topo.grouped(inputs))
    pairs = np.unique(inputs.to.astype(np.int64) * np.int64(topo.n) + inputs.frm)
    owners, counts = np.unique(pairs // np.int64(topo.n), return_counts=True)
    sizes = np.zeros(ids.shape[0], np.int64)
    where = np.searchsorted(owners, ids)
    found = (where < owners.shape[0]) & (owners[np.minimum(where, max(owners.shape[0] - 1, 0))] == ids)
    sizes[found] = counts[where[found]]
    return sizes


def required_up(topo: Topology, nid: int, size: int) -> int:
    """How many of ``size`` group inputs CI ``nid`` needs up (its min_up or its class default)."""
    min_up = topo.min_up(nid)
    return min_up.required(size) if min_up is not None else size


# Per CI of one view, under one set of filters: (distinct group inputs, inputs it needs up).
GroupMemo = dict[int, tuple[int, int]]


def group_arithmetic(topo: Topology, nids: list[int], filters: Filters, memo: GroupMemo | None) -> list[tuple[int, int]]:
    """(distinct group inputs, inputs required up) of each CI, from ``memo`` where it has them.

    What it computes is added to ``memo``; give one only for this view and these filters.
    """
    known: GroupMemo = {} if memo is None else memo
    missing = [nid for nid in nids if nid not in known]
    if missing:
        sizes = group_sizes(topo, np.array(missing, np.int32), filters).tolist()
        for nid, n_inputs in zip(missing, sizes, strict=True):
            known[nid] = (n_inputs, required_up(topo, nid, n_inputs))
    return [known[nid] for nid in nids]


def grade(topo: Topology, r: Reach, filters: Filters, memo: GroupMemo | None = None) -> Grading:
    """Decide down vs degraded for every reached CI (forward reach only).

    ``memo`` keeps the group arithmetic of CIs met before; the caller must give one
    only for this view and these filters (``ImpactService`` keeps one per view, for
    the default filters).
    """
    size = int(r.order.shape[0])
    edges = topo.expand(r.order, True, filters.type_ok, filters.min_confidence)
    to_pos = r.pos[edges.to]
    edges = edges.take(to_pos >= r.down_roots)
    grouped = topo.grouped(edges)
    fp = r.pos[edges.frm].astype(np.int64)
    tp = r.pos[edges.to].astype(np.int64)
    # One edge per (input, CI, grouped?): a group counts distinct inputs.
    _, keep = np.unique((fp * size + tp) * 2 + grouped, return_index=True)
    keep.sort()
    edges, grouped, fp, tp = edges.take(keep), grouped[keep], fp[keep], tp[keep]

    group_size = np.zeros(size, np.int64)
    required = np.zeros(size, np.int64)
    tolerance = np.full(size, np.iinfo(np.int64).max, np.int64)
    gpos = np.unique(tp[grouped])
    if gpos.shape[0]:
        arithmetic = group_arithmetic(topo, r.order[gpos].tolist(), filters, memo)
        group_size[gpos] = [n_inputs for n_inputs, _ in arithmetic]
        required[gpos] = [need for _, need in arithmetic]
        tolerance[gpos] = [n_inputs - need for n_inputs, need in arithmetic]

    down = np.zeros(size, np.bool_)
    down[: r.down_roots] = True
    down_edge = np.full(size, -1, np.int64)
    group_down = np.zeros(size, np.int64)
    newly = down.copy()
    while True:
        hits = np.nonzero(newly[fp])[0]
        if not hits.shape[0]:
            break
        g_hits = hits[grouped[hits]]
        if g_hits.shape[0]:
            group_down += np.bincount(tp[g_hits], minlength=size)
        direct = hits[~grouped[hits]]
        tipped = g_hits[group_down[tp[g_hits]] > tolerance[tp[g_hits]]]
        cand = np.concatenate([direct, tipped])  # direct causes first: they explain more simply
        cand = cand[~down[tp[cand]]]
        newly = np.zeros(size, np.bool_)
        if cand.shape[0]:
            uniq, first = np.unique(tp[cand], return_index=True)
            down[uniq] = True
            down_edge[uniq] = cand[first]
            newly[uniq] = True
    down_edge = _shortest_causes(down, group_down > tolerance, fp, tp, grouped, r.down_roots)
    return Grading(down, down_edge, edges, grouped, group_size, group_down, required)


def _shortest_causes(
    down: NDArray[np.bool_],
    tipped: NDArray[np.bool_],
    fp: NDArray[np.int64],
    tp: NDArray[np.int64],
    grouped: NDArray[np.bool_],
    n_roots: int,
) -> NDArray[np.int64]:
    """Per down CI, the edge ending its shortest *causal* chain from a failed CI.

    A causal edge joins two down CIs and alone explains the second: a plain input,
    or a group input of a CI whose group tipped. The fixpoint's own parents are
    causal but can wind far; explanations read best along the shortest chain.
    """
    size = int(down.shape[0])
    causal = np.nonzero(down[fp] & down[tp] & (~grouped | tipped[tp]))[0]
    # Plain inputs first: "input X down" explains more simply than group arithmetic.
    causal = causal[np.argsort(grouped[causal], kind="stable")]
    cfp, ctp = fp[causal], tp[causal]
    cause = np.full(size, -1, np.int64)
    reached = np.zeros(size, np.bool_)
    reached[:n_roots] = True
    frontier = reached.copy()
    while True:
        sel = np.nonzero(frontier[cfp] & ~reached[ctp])[0]
        if not sel.shape[0]:
            break
        uniq, first = np.unique(ctp[sel], return_index=True)
        reached[uniq] = True
        cause[uniq] = causal[sel[first]]
        frontier = np.zeros(size, np.bool_)
        frontier[uniq] = True
    return cause
