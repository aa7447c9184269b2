"""reach, group_sizes, grade and _shortest_causes called directly, value by value.

The golden tests reach them through ImpactService; these pin what each returns at its
boundaries (the budget and the depth limit at their values, filters past the depth limit,
seeds that are also roots), which the answers built on top do not always show.
"""

from __future__ import annotations

import numpy as np

from cmdb.impact.models import Truncation
from cmdb.impact.propagation import Filters, Reach, _shortest_causes, grade, group_sizes, reach
from cmdb.topology.arrays import Int32s
from cmdb.topology.snapshot import Topology
from tests.unit.impact.impact_graphs import Graph, three_tier_graph

NOTHING = np.empty(0, np.int32)
ALL = Filters(None, 0.0)


def _chain() -> Topology:
    """a -> b -> c -> d in propagation order (each DEPENDS_ON the one before)."""
    g = Graph()
    for uid in "abcd":
        g.ci(uid, "application")
    g.rel("b", "DEPENDS_ON", "a").rel("c", "DEPENDS_ON", "b").rel("d", "DEPENDS_ON", "c")
    return g.index().view()


def _ids(topo: Topology, *uids: str) -> Int32s:
    return np.array([topo.id_of(u) for u in uids], np.int32)


def _uids(topo: Topology, ids: Int32s | None) -> list[str]:
    assert ids is not None
    return [topo.uid(i) for i in ids.tolist()]


def _reach(topo: Topology, *roots: str, max_depth: int = 6, max_nodes: int = 100, filters: Filters = ALL,
           seeds: Int32s | None = None) -> Reach:
    return reach(topo, _ids(topo, *roots), forward=True, max_depth=max_depth, max_nodes=max_nodes, blocked=NOTHING,
                 filters=filters, seeds=seeds)


def _walk(topo: Topology, r: Reach) -> tuple[list[str], list[int], list[int], tuple[Truncation, ...], list[str]]:
    return _uids(topo, r.order), r.depth.tolist(), r.parent.tolist(), r.truncated_by, _uids(topo, r.unknown)


# -- reach ----------------------------------------------------------------------------------

def test_reach_lists_the_roots_then_each_level_with_its_depth_parent_and_edge() -> None:
    topo = _chain()
    r = _reach(topo, "a")
    assert _walk(topo, r) == (["a", "b", "c", "d"], [0, 1, 2, 3], [-1, 0, 1, 2], (), [])
    depends_on = topo.vocab.type_ids["DEPENDS_ON"]
    assert r.via_type.tolist() == [0, depends_on, depends_on, depends_on]
    assert r.via_flip.tolist() == [False, True, True, True]  # stored b -> a: against propagation
    assert (r.n_roots, r.n_down, r.down_roots) == (1, 1, 1)
    assert [int(r.pos[i]) for i in _ids(topo, "a", "b", "c", "d").tolist()] == [0, 1, 2, 3]


def test_reach_against_propagation_lists_what_a_ci_needs() -> None:
    topo = _chain()
    r = reach(topo, _ids(topo, "c"), forward=False, max_depth=6, max_nodes=100, blocked=NOTHING, filters=ALL)
    assert _walk(topo, r) == (["c", "b", "a"], [0, 1, 2], [-1, 0, 1], (), [])


def test_reach_from_no_roots_reaches_nothing() -> None:
    topo = _chain()
    r = reach(topo, NOTHING, forward=True, max_depth=6, max_nodes=100, blocked=NOTHING, filters=ALL)
    assert _walk(topo, r) == ([], [], [], (), [])
    assert r.n_roots == 0


def test_a_node_budget_of_exactly_what_is_reachable_is_not_truncated() -> None:
    topo = _chain()
    assert _walk(topo, _reach(topo, "a", max_nodes=4)) == (["a", "b", "c", "d"], [0, 1, 2, 3], [-1, 0, 1, 2], (), [])


def test_a_node_budget_spent_stops_the_walk_with_the_next_cis_unknown() -> None:
    topo = _chain()
    assert _walk(topo, _reach(topo, "a", max_nodes=3)) == (["a", "b", "c"], [0, 1, 2], [-1, 0, 1],
                                                           (Truncation.MAX_NODES,), ["d"])
    assert _walk(topo, _reach(topo, "a", max_nodes=1)) == (["a"], [0], [-1], (Truncation.MAX_NODES,), ["b"])


def test_a_budget_spent_mid_level_keeps_the_first_discovered_and_names_the_rest() -> None:
    # hub's failure reaches x1..x3 on one level; a budget of 3 keeps hub and two of them.
    g = Graph().ci("hub", "application")
    for uid in ("x1", "x2", "x3"):
        g.ci(uid, "application").rel(uid, "DEPENDS_ON", "hub")
    topo = g.index().view()
    r = _reach(topo, "hub", max_nodes=3)
    kept = _uids(topo, r.order)
    assert (len(kept), kept[0], r.truncated_by) == (3, "hub", (Truncation.MAX_NODES,))
    assert sorted(kept[1:] + _uids(topo, r.unknown)) == ["x1", "x2", "x3"]
    assert r.unknown is not None and r.unknown.tolist() == sorted(r.unknown.tolist())


def test_the_depth_limit_at_its_value() -> None:
    topo = _chain()
    assert _walk(topo, _reach(topo, "a", max_depth=0)) == (["a"], [0], [-1], (Truncation.MAX_DEPTH,), ["b"])
    assert _walk(topo, _reach(topo, "a", max_depth=1)) == (["a", "b"], [0, 1], [-1, 0], (Truncation.MAX_DEPTH,), ["c"])
    # d has nothing past it: reaching it at exactly the limit truncates nothing.
    assert _walk(topo, _reach(topo, "a", max_depth=3)) == (["a", "b", "c", "d"], [0, 1, 2, 3], [-1, 0, 1, 2], (), [])


def test_what_the_filters_leave_out_is_not_counted_past_the_depth_limit() -> None:
    """b's other dependants come through a type left out and an edge below the confidence asked."""
    g = Graph()
    for uid in ("a", "b", "hosted", "guessed"):
        g.ci(uid, "application")
    g.rel("b", "DEPENDS_ON", "a").rel("hosted", "HOSTED_ON", "b")
    g.rel("guessed", "DEPENDS_ON", "b", method="traffic", confidence=0.3)
    topo = g.index().view()
    filters = Filters(topo.vocab.type_mask(("DEPENDS_ON",)), 0.5)
    assert _walk(topo, _reach(topo, "a", max_depth=1, filters=filters)) == (["a", "b"], [0, 1], [-1, 0], (), [])
    assert _walk(topo, _reach(topo, "a", max_depth=6, filters=filters)) == (["a", "b"], [0, 1], [-1, 0], (), [])
    only_type = Filters(topo.vocab.type_mask(("DEPENDS_ON",)), 0.0)
    assert _walk(topo, _reach(topo, "a", max_depth=1, filters=only_type)) == (
        ["a", "b"], [0, 1], [-1, 0], (Truncation.MAX_DEPTH,), ["guessed"])
    only_confidence = Filters(None, 0.5)
    assert _walk(topo, _reach(topo, "a", max_depth=1, filters=only_confidence)) == (
        ["a", "b"], [0, 1], [-1, 0], (Truncation.MAX_DEPTH,), ["hosted"])


def test_seeds_follow_the_roots_once_and_a_seed_that_is_a_root_stays_a_root() -> None:
    topo = _chain()
    r = _reach(topo, "a", "a", seeds=_ids(topo, "c", "a", "c"))
    assert _walk(topo, r) == (["a", "c", "b", "d"], [0, 0, 1, 1], [-1, -1, 0, 1], (), [])
    assert (r.n_roots, r.n_down, r.down_roots) == (2, 1, 1)


# -- group_sizes ----------------------------------------------------------------------------

def test_group_sizes_of_no_cis_is_empty() -> None:
    sizes = group_sizes(three_tier_graph().index().view(), NOTHING, ALL)
    assert (sizes.tolist(), sizes.dtype) == ([], np.dtype(np.int64))


def test_group_sizes_count_distinct_group_inputs_per_ci() -> None:
    topo = three_tier_graph().index().view()
    # pool: its 3 members; lb and app: no group input; shop: 1 (app, DEPENDS_ON, 100%).
    assert group_sizes(topo, _ids(topo, "pool", "lb", "shop", "app"), ALL).tolist() == [3, 0, 1, 0]


# -- grade and _shortest_causes -------------------------------------------------------------

def test_grade_names_a_cause_only_for_down_cis_that_are_not_roots() -> None:
    topo = three_tier_graph().index().view()
    r = _reach(topo, "web1")
    graded = grade(topo, r, ALL)
    assert _uids(topo, r.order) == ["web1", "pool", "lb", "app", "shop"]
    assert graded.down.tolist() == [True, False, False, False, False]
    assert graded.down_edge.tolist() == [-1, -1, -1, -1, -1]
    assert (graded.group_size.tolist(), graded.group_down.tolist(), graded.required.tolist()) == (
        [0, 3, 0, 0, 1], [0, 1, 0, 0, 0], [0, 2, 0, 0, 1])

    r = _reach(topo, "web1", "web2")
    graded = grade(topo, r, ALL)
    assert graded.down.tolist() == [True] * 6
    causes = [(topo.uid(int(graded.edges.frm[e])), topo.uid(int(graded.edges.to[e])))
              for e in graded.down_edge.tolist()[2:]]
    assert graded.down_edge.tolist()[:2] == [-1, -1]
    assert [topo.uid(i) for i in r.order.tolist()[2:]] == ["pool", "lb", "app", "shop"]
    assert causes == [("web1", "pool"), ("pool", "lb"), ("lb", "app"), ("app", "shop")]


def _causes(edges: list[tuple[int, int]], n_roots: int, size: int, grouped: list[bool] | None = None,
            tipped: tuple[int, ...] = ()) -> list[int]:
    fp = np.array([f for f, _ in edges], np.int64)
    tp = np.array([t for _, t in edges], np.int64)
    tip = np.zeros(size, np.bool_)
    tip[list(tipped)] = True
    group = np.array(grouped if grouped is not None else [False] * len(edges), np.bool_)
    cause: list[int] = _shortest_causes(np.ones(size, np.bool_), tip, fp, tp, group, n_roots).tolist()
    return cause


def test_the_cause_named_ends_the_shortest_chain_even_when_a_longer_ones_edge_comes_first() -> None:
    # 0 (failed) -> 1 -> 2 and 0 -> 3 -> 4 -> 2; the edge 4 -> 2 (index 3) comes before 1 -> 2 (index 4).
    assert _causes([(0, 1), (0, 3), (3, 4), (4, 2), (1, 2)], n_roots=1, size=5) == [-1, 0, 4, 1, 2]


def test_among_equally_short_plain_causes_the_first_in_edge_order_is_named() -> None:
    """A stable sort puts plain inputs first: past 16 edges NumPy's default sort is not stable."""
    # 17 failed CIs, each an input of CI 17, whose group tipped; the first edge is a group input.
    edges = [(i, 17) for i in range(17)]
    assert _causes(edges, n_roots=17, size=18, grouped=[True] + [False] * 16, tipped=(17,)) == [-1] * 17 + [1]


def test_grade_counts_only_the_inputs_the_filters_let_through() -> None:
    """pool needs 1 of its members up; x is one of them and, through a type and an edge left out, its host."""
    g = Graph().ci("x", "physical_server").ci("m2", "virtual_machine").ci("pool", "cluster", min_up="1")
    g.rel("pool", "HAS_MEMBER", "x").rel("pool", "HAS_MEMBER", "m2").rel("pool", "HOSTED_ON", "x")
    g.rel("pool", "DEPENDS_ON", "x", method="traffic", confidence=0.3)
    topo = g.index().view()
    for filters in (Filters(topo.vocab.type_mask(("HAS_MEMBER", "DEPENDS_ON")), 0.5),
                    Filters(topo.vocab.type_mask(("HAS_MEMBER",)), 0.0)):
        r = _reach(topo, "x", filters=filters)
        assert _uids(topo, r.order) == ["x", "pool"]
        graded = grade(topo, r, filters)
        assert (graded.down.tolist(), graded.group_size.tolist(), graded.group_down.tolist()) == (
            [True, False], [0, 2], [0, 1])
    assert grade(topo, _reach(topo, "x"), ALL).down.tolist() == [True, True]  # HOSTED_ON x: down with it


def test_grade_keeps_each_input_of_each_ci_apart() -> None:
    """Inputs are de-duplicated per (input, CI, grouped or not); no two different ones may merge."""
    g = Graph().ci("x", "virtual_machine").ci("pool", "cluster", min_up="1").ci("a", "application")
    g.ci("b", "application")
    g.rel("pool", "HAS_MEMBER", "x").rel("pool", "HAS_MEMBER", "a").rel("a", "DEPENDS_ON", "x").rel("b", "DEPENDS_ON", "x")
    topo = g.index().view()
    r = _reach(topo, "x")
    assert _uids(topo, r.order) == ["x", "pool", "a", "b"]
    graded = grade(topo, r, ALL)
    assert (graded.down.tolist(), graded.group_size.tolist(), graded.group_down.tolist()) == (
        [True, True, True, True], [0, 2, 0, 0], [0, 2, 0, 0])
    pairs = sorted(zip(_uids(topo, graded.edges.frm), _uids(topo, graded.edges.to), graded.edge_grouped.tolist(),
                       strict=True))
    assert pairs == [("a", "pool", True), ("x", "a", False), ("x", "b", False), ("x", "pool", True)]
