"""Turn reach/grading arrays into explained, typed answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from cmdb.impact.models import Grade, GroupState, ImpactedCI, PathStep
from cmdb.topology.snapshot import Topology
from schema import MinUp

if TYPE_CHECKING:
    from cmdb.impact.walk import Walked


def node_step(topo: Topology, nid: int) -> PathStep:
    """The first step of a path: a CI, no relationship."""
    return PathStep(topo.uid(nid), topo.name(nid), topo.class_name(nid))


def edge_step(topo: Topology, prev: int, nid: int, etype: int, flip: bool, forward: bool = True) -> PathStep:
    """The step from ``prev`` to ``nid`` over one propagation edge, naming the stored relationship.

    ``forward``: the walk follows propagation (prev impacts nid); otherwise it walks
    against it (nid impacts prev, as in a dependency path).
    """
    frm, to = (prev, nid) if forward else (nid, prev)
    src, dst = (to, frm) if flip else (frm, to)
    return PathStep(
        topo.uid(nid), topo.name(nid), topo.class_name(nid),
        rel_type=topo.vocab.types[etype], rel_source=topo.uid(src), rel_target=topo.uid(dst),
    )


def paths_by_parent(
    size: int, step_of: Callable[[int], PathStep], parent_of: Callable[[int], int]
) -> list[tuple[PathStep, ...]]:
    """Memoised root-to-node paths for each of ``size`` reached positions, given a parent function.

    Parents must form a forest rooted at the roots (parent -1); paths share prefixes.
    """
    paths: list[tuple[PathStep, ...] | None] = [None] * size
    for start in range(size):
        if paths[start] is not None:
            continue
        chain = [start]
        p = parent_of(start)
        while p >= 0 and paths[p] is None:
            chain.append(p)
            p = parent_of(p)
        prefix: tuple[PathStep, ...] = () if p < 0 else (paths[p] or ())
        for q in reversed(chain):
            prefix = (*prefix, step_of(q))
            paths[q] = prefix
    return [p or () for p in paths]


def _chain_lengths(size: int, parent_of: Callable[[int], int], roots: list[int]) -> list[int]:
    """Hops from a root to each position along ``parent_of`` (memoised, parents form a forest);
    ``roots`` receives each position's root position."""
    hops = [-1] * size
    roots[:] = [-1] * size
    for start in range(size):
        if hops[start] >= 0:
            continue
        chain = [start]
        p = parent_of(start)
        while p >= 0 and hops[p] < 0:
            chain.append(p)
            p = parent_of(p)
        base, root = (-1, chain[-1]) if p < 0 else (hops[p], roots[p])
        for q in reversed(chain):
            base += 1
            hops[q] = base
            roots[q] = root
    return hops


def _min_up_text(min_up: MinUp | None, required: int) -> str:
    if min_up is None:
        return f"min_up {required}"
    if min_up.percent:
        return f"min_up {min_up} = {required}"
    return f"min_up {required}"


def _group_text(group: GroupState, min_up: MinUp | None, outcome: str) -> str:
    return f"{group.up} of {group.size} up, {_min_up_text(min_up, group.required)} -> {outcome}"


def impacted_cis(
    topo: Topology, w: Walked, explain: bool = True, chain_roots: list[int] | None = None
) -> list[ImpactedCI]:
    """Every reached CI graded, with its depth, explanation path and explanation.

    ``explain`` False leaves the paths and texts out (empty), for callers that show
    neither; grades, depths and the redundancy arithmetic are the same.
    ``chain_roots`` receives, per position, the root position its explanation starts at.
    """
    order = w.order
    all_uids = topo.nodes.uids
    uids = [all_uids[n] for n in order]
    names = [topo.name(n) for n in order]
    vocab_classes = topo.vocab.classes
    classes = [vocab_classes[c] for c in w.class_ids]
    types = topo.vocab.types
    parent, via_type, via_flip = w.parent, w.via_type, w.via_flip
    down, down_edge = w.down, w.down_edge
    e_frm, e_type, e_flip, grouped = w.e_frm, w.e_type, w.e_flip, w.e_grouped
    gsize, gdown, required = w.group_size, w.group_down, w.required
    n_roots, n_down = w.n_roots, w.n_down

    def parent_of(p: int) -> int:
        if p < n_down:
            return -1
        if down[p] and down_edge[p] >= 0:
            return int(e_frm[down_edge[p]])
        if p < n_roots:
            return -1
        return int(parent[p])

    def step_of(p: int) -> PathStep:
        if p < n_down or (p < n_roots and not (down[p] and down_edge[p] >= 0)):
            return PathStep(uids[p], names[p], classes[p])
        if down[p]:
            e = down_edge[p]
            prev, etype, flip = e_frm[e], e_type[e], e_flip[e]
        else:
            prev, etype, flip = parent[p], via_type[p], via_flip[p]
        src, dst = (p, prev) if flip else (prev, p)
        return PathStep(uids[p], names[p], classes[p], types[etype], uids[src], uids[dst])

    paths = paths_by_parent(len(order), step_of, parent_of) if explain else None
    # Depth is the explanation path's length (explained or not): the causal chain of a
    # down CI can be longer than the shortest way in.
    hops = _chain_lengths(len(order), parent_of, chain_roots if chain_roots is not None else [])
    result: list[ImpactedCI] = []
    why = ""
    for p in range(len(order)):
        group: GroupState | None = None
        if p < n_down:
            if explain:
                why = "assumed down"
        elif p < n_roots and not down[p]:
            why = ""  # a degraded seed: the network layer explains it
        elif down[p]:
            e = down_edge[p]
            if grouped[e]:
                group = GroupState(gsize[p] - gdown[p], gsize[p], required[p])
                if explain:
                    why = _group_text(group, topo.min_up(order[p]), "down")
            elif explain:
                why = f"input {names[e_frm[e]]} down ({types[e_type[e]]}) -> down"
        elif gdown[p] > 0:
            group = GroupState(gsize[p] - gdown[p], gsize[p], required[p])
            if explain:
                why = _group_text(group, topo.min_up(order[p]), "degraded")
        elif explain:
            why = f"input {names[parent[p]]} degraded ({types[via_type[p]]}) -> degraded"
        result.append(
            ImpactedCI(uids[p], classes[p], names[p], Grade.DOWN if down[p] else Grade.DEGRADED, hops[p],
                       list(paths[p]) if paths is not None else [], why, group)
        )
    return result
