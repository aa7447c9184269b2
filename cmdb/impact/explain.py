"""Turn reach/grading arrays into explained, typed answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def _min_up_text(min_up: MinUp | None, required: int) -> str:
    if min_up is None:
        return f"min_up {required}"
    if min_up.percent:
        return f"min_up {min_up} = {required}"
    return f"min_up {required}"


def _group_text(group: GroupState, min_up: MinUp | None, outcome: str) -> str:
    return f"{group.up} of {group.size} up, {_min_up_text(min_up, group.required)} -> {outcome}"


@dataclass(slots=True)
class SeedCauses:
    """Roots another layer explains (the network layer): per root position, the position
    of its cause, and how to name the step from it and say why (called only when
    explaining)."""

    cause: dict[int, int]
    step: Callable[[int], PathStep]
    text: Callable[[int], str]


def impacted_cis(
    topo: Topology, w: Walked, explain: bool = True, seeds: SeedCauses | None = None
) -> list[ImpactedCI]:
    """Every reached CI graded, with its depth, explanation path and explanation.

    ``explain`` False leaves the paths and texts out (empty), for callers that show
    neither; grades, depths and the redundancy arithmetic are the same. ``seeds``:
    roots explained by their cause (another reached CI) instead of as failed: their
    path is their cause's plus one step, and what propagation reached from them
    continues it. Depth is always the explanation path's length.

    One pass, one object per CI and step: a core switch's answer holds ~9,000 CIs,
    and every object made here is also work for the cyclic collector.
    """
    order = w.order
    size = len(order)
    all_uids, all_names = topo.nodes.uids, topo.nodes.names
    uids = [all_uids[n] for n in order]
    names = [name if (name := all_names[n]) is not None else uids[p] for p, n in enumerate(order)]
    vocab_classes = topo.vocab.classes
    classes = [vocab_classes[c] for c in w.class_ids]
    types = topo.vocab.types
    parent, via_type, via_flip = w.parent, w.via_type, w.via_flip
    down, down_edge = w.down, w.down_edge
    e_frm, e_type, e_flip, grouped = w.e_frm, w.e_type, w.e_flip, w.e_grouped
    gsize, gdown, required = w.group_size, w.group_down, w.required
    n_roots, n_down = w.n_roots, w.n_down

    # The explanation's parent of each position: its causal input when down, else the
    # CI that reached it; roots have none unless another layer names their cause.
    par = [-1] * size
    for p in range(n_down, size):
        e = down_edge[p]
        if down[p] and e >= 0:
            par[p] = e_frm[e]
        elif p >= n_roots:
            par[p] = parent[p]
    caused: dict[int, int] = {} if seeds is None else dict(seeds.cause)
    for p, c in caused.items():
        par[p] = c

    def step_of(p: int) -> PathStep:
        if p in caused:
            return seeds.step(p)  # type: ignore[union-attr]
        if par[p] < 0:
            return PathStep(uids[p], names[p], classes[p])
        if down[p]:
            e = down_edge[p]
            prev, etype, flip = e_frm[e], e_type[e], e_flip[e]
        else:
            prev, etype, flip = parent[p], via_type[p], via_flip[p]
        src, dst = (p, prev) if flip else (prev, p)
        return PathStep(uids[p], names[p], classes[p], types[etype], uids[src], uids[dst])

    # Depth (and, explaining, the path) along ``par``, parents first, memoised.
    hops = [-1] * size
    paths: list[list[PathStep]] = [[]] * size
    for start in range(size):
        if hops[start] >= 0:
            continue
        chain = [start]
        hops[start] = -2  # on the chain being followed
        q = par[start]
        while q >= 0 and hops[q] == -1:
            chain.append(q)
            hops[q] = -2
            q = par[q]
        if q >= 0 and hops[q] == -2:  # a cycle of causes (cannot arise from one walk): cut it here
            last = chain[-1]
            par[last] = -1
            caused.pop(last, None)
            q = -1
        base = -1 if q < 0 else hops[q]
        prefix = [] if q < 0 else paths[q]
        for r in reversed(chain):
            base += 1
            hops[r] = base
            if explain:
                prefix = [*prefix, step_of(r)]
                paths[r] = prefix

    result: list[ImpactedCI] = []
    why = ""
    for p in range(size):
        group: GroupState | None = None
        if p in caused:
            if explain:
                why = seeds.text(p)  # type: ignore[union-attr]
        elif p < n_down:
            if explain:
                why = "assumed down"
        elif p < n_roots and not down[p]:
            why = ""  # a degraded seed the network layer could not explain
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
        result.append(ImpactedCI(
            uids[p], classes[p], names[p], Grade.DOWN if down[p] else Grade.DEGRADED, hops[p],
            paths[p] if explain else [], why, group,
        ))
    return result
