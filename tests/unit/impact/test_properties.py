"""Property tests on random graphs, against oracles written independently of the index."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schema as schema_package
from cmdb.impact import DependencyRequest, ImpactRequest
from schema import ImpactDirection, load_schema
from tests.unit.impact.impact_graphs import Graph

SCHEMA = load_schema()
PLAIN_CLASSES = ["virtual_machine", "software_instance", "application", "database", "physical_server"]
GROUP_CLASSES = ["cluster", "business_service"]  # redundancy over HAS_MEMBER/ROUTES_TO and DEPENDS_ON
TYPES = ["DEPENDS_ON", "RUNS_ON", "HOSTED_ON", "CONTAINS", "HAS_MEMBER", "ROUTES_TO", "CONNECTS_TO", "HAS_ADDRESS"]
UNBOUNDED: dict[str, Any] = {"max_depth": 100, "max_nodes": 10_000}
# The classes' declared min_up, read from the catalog file itself (not through the schema's parser).
_DECLARED_MIN_UP = {name: spec["redundancy"]["min_up"] for name, spec in yaml.safe_load(
    (Path(schema_package.__file__).parent / "catalog.yaml").read_text(encoding="utf-8"))["classes"].items()
    if isinstance(spec, dict) and "redundancy" in spec}


def required_up(g: Graph, v: str, size: int) -> int:
    """How many of ``v``'s ``size`` group inputs must stay up (docs/impact.md), computed here.

    Its own ``min_up`` or its class's: a count (at most the group), or a percentage of the
    group rounded up (at least one, at most the group).
    """
    raw = str(g.nodes[v].min_up or _DECLARED_MIN_UP[g.nodes[v].ci_class]).strip()
    if raw.endswith("%"):
        return max(1, min(size, math.ceil(Fraction(raw[:-1]) * size / 100)))
    return min(size, int(raw))


@st.composite
def graphs(draw: st.DrawFn, redundancy: bool = True) -> Graph:
    n = draw(st.integers(2, 12))
    classes = PLAIN_CLASSES + (GROUP_CLASSES if redundancy else [])
    g = Graph(schema=SCHEMA)
    for i in range(n):
        cls = draw(st.sampled_from(classes))
        min_up = draw(st.sampled_from([None, "1", "2", "3", "50%", "100%"])) if cls in GROUP_CLASSES else None
        g.ci(f"n{i}", cls, min_up=min_up)
    for _ in range(draw(st.integers(0, 3 * n))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        rel_type = draw(st.sampled_from(TYPES))
        if not redundancy and rel_type in ("HAS_MEMBER", "ROUTES_TO"):
            rel_type = "DEPENDS_ON"
        status = draw(st.sampled_from(["active", "active", "active", "stale"]))
        g.rel(f"n{a}", rel_type, f"n{b}", status=status)
    return g


def propagation_graph(g: Graph) -> nx.MultiDiGraph:
    """u -> v when a failure of u impacts v, from the schema's directions (independent of the index)."""
    pg = nx.MultiDiGraph()
    pg.add_nodes_from(g.nodes)
    for (s, t, d), e in g.edges.items():
        if e.status != "active":
            continue
        direction = SCHEMA.rel(t).impact
        if direction in (ImpactDirection.TARGET_TO_SOURCE, ImpactDirection.BOTH):
            pg.add_edge(d, s, type=t, src=s, dst=d)
        if direction in (ImpactDirection.SOURCE_TO_TARGET, ImpactDirection.BOTH):
            pg.add_edge(s, d, type=t, src=s, dst=d)
    return pg


def closure(pg: nx.MultiDiGraph, failed: set[str]) -> set[str]:
    seen = set(failed)
    for f in failed:
        seen |= nx.descendants(pg, f)
    return seen


def oracle_grades(g: Graph, failed: set[str]) -> dict[str, str]:
    """Naive whole-graph fixpoint of the spec's grading."""
    pg = propagation_graph(g)
    impacted = closure(pg, failed)
    down = set(failed)
    changed = True
    while changed:
        changed = False
        for v in impacted - down:
            cls = SCHEMA.cls(g.nodes[v].ci_class)
            group_types = set(cls.redundancy.relationships) if cls.redundancy else set()
            group_inputs = {u for u, _, t in pg.in_edges(v, data="type") if t in group_types}
            plain_inputs = {u for u, _, t in pg.in_edges(v, data="type") if t not in group_types}
            if plain_inputs & down:
                down.add(v)
                changed = True
                continue
            if group_inputs and len(group_inputs - down) < required_up(g, v, len(group_inputs)):
                down.add(v)
                changed = True
    return {v: ("down" if v in down else "degraded") for v in impacted}


failed_sets = st.sets(st.integers(0, 11), min_size=1, max_size=3)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pick(g: Graph, idx: set[int]) -> tuple[str, ...]:
    names = sorted(g.nodes)
    return tuple(sorted({names[i % len(names)] for i in idx}))


@SETTINGS
@given(graphs(), failed_sets)
def test_grades_match_the_naive_fixpoint(g: Graph, idx: set[int]) -> None:
    failed = pick(g, idx)
    report = g.service().impact(ImpactRequest(failed, **UNBOUNDED))
    assert {c.uid: c.grade.value for c in report.impacted} == oracle_grades(g, set(failed))


@SETTINGS
@given(graphs(), failed_sets)
def test_impacted_within_closure_with_valid_paths_and_depths(g: Graph, idx: set[int]) -> None:
    failed = pick(g, idx)
    pg = propagation_graph(g)
    for depth in (1, 2, 100):
        report = g.service().impact(ImpactRequest(failed, max_depth=depth))
        grades = {c.uid: c.grade.value for c in report.impacted}
        assert set(grades) <= closure(pg, set(failed))
        dist = nx.multi_source_dijkstra_path_length(pg, set(failed))
        for ci in report.impacted:
            # Reached within the limit; depth is the explanation path's length (a down CI's causal
            # chain may be longer than its shortest way in).
            path = ci.path
            assert dist[ci.uid] <= depth and ci.depth == len(path) - 1 >= dist[ci.uid]
            assert path[0].uid in failed and path[0].rel_type is None and path[-1].uid == ci.uid
            for prev, step in itertools.pairwise(path):
                # The named relationship exists, is active, and propagates prev -> step.
                assert any(
                    d["type"] == step.rel_type and d["src"] == step.rel_source and d["dst"] == step.rel_target
                    for d in pg.get_edge_data(prev.uid, step.uid, default={}).values()
                )
                assert step.uid in grades
            if ci.grade.value == "down":
                assert all(grades[s.uid] == "down" for s in path)
            # A degraded grade with inputs past the bounds says how many it counted as up.
            k = ci.unknown_inputs
            bounds = f" ({k} input{'s' if k > 1 else ''} past the bounds counted as up)" if k else ""
            assert ci.explanation.endswith(f"-> {ci.grade.value}{bounds}") or ci.explanation == "assumed down"


@SETTINGS
@given(graphs(), failed_sets, st.integers(0, 11))
def test_adding_a_failed_ci_never_removes_or_improves(g: Graph, idx: set[int], extra: int) -> None:
    service = g.service()
    failed = pick(g, idx)
    more = pick(g, idx | {extra})
    before = {c.uid: c.grade.value for c in service.impact(ImpactRequest(failed, **UNBOUNDED)).impacted}
    after = {c.uid: c.grade.value for c in service.impact(ImpactRequest(more, **UNBOUNDED)).impacted}
    assert set(before) <= set(after)
    assert {u for u, gr in before.items() if gr == "down"} <= {u for u, gr in after.items() if gr == "down"}


@SETTINGS
@given(graphs(redundancy=False), failed_sets)
def test_without_redundancy_impact_is_plain_reachability_all_down(g: Graph, idx: set[int]) -> None:
    failed = pick(g, idx)
    report = g.service().impact(ImpactRequest(failed, **UNBOUNDED))
    assert {c.uid: c.grade.value for c in report.impacted} == {
        u: "down" for u in closure(propagation_graph(g), set(failed))
    }


@SETTINGS
@given(graphs(), st.integers(0, 11), st.integers(1, 4))
def test_dependencies_are_the_reverse_reach(g: Graph, i: int, depth: int) -> None:
    (root,) = pick(g, {i})
    pg = propagation_graph(g)
    dist = nx.single_source_shortest_path_length(pg.reverse(copy=False), root, cutoff=depth)
    report = g.service().dependencies(DependencyRequest(root, max_depth=depth))
    assert {(d.uid, d.depth) for d in report.dependencies} == {(u, k) for u, k in dist.items() if u != root}
    # redundant: every way from the root inside the reach crosses a group that tolerates a loss.
    reach = set(dist)
    hard = nx.DiGraph()
    hard.add_nodes_from(reach)
    for u, v, t in pg.edges(data="type"):
        if u in reach and v in reach and not (t in _group_types(g, v) and _tolerance(g, pg, v) > 0):
            hard.add_edge(v, u)
    reachable = nx.descendants(hard, root)
    assert {d.uid for d in report.dependencies if not d.redundant} == reachable - {root}


def _group_types(g: Graph, v: str) -> set[str]:
    cls = SCHEMA.cls(g.nodes[v].ci_class)
    return set(cls.redundancy.relationships) if cls.redundancy else set()


def _tolerance(g: Graph, pg: nx.MultiDiGraph, v: str) -> int:
    types = _group_types(g, v)
    inputs = {u for u, _, t in pg.in_edges(v, data="type") if t in types}
    if not inputs:
        return 0
    return len(inputs) - required_up(g, v, len(inputs))


@SETTINGS
@given(graphs(), st.integers(0, 11))
def test_spofs_are_exactly_the_single_losses_that_take_the_service_down(g: Graph, i: int) -> None:
    (service,) = pick(g, {i})
    pg = propagation_graph(g)
    expected = {c for c in nx.ancestors(pg, service) if oracle_grades(g, {c}).get(service) == "down"}
    report = g.service().single_points_of_failure(service, max_depth=100)
    assert {s.uid for s in report.spofs} == expected


@SETTINGS
@given(graphs(), st.integers(0, 11), st.integers(0, 11))
def test_paths_are_valid_and_shortest_first(g: Graph, i: int, j: int) -> None:
    (a,), (b,) = pick(g, {i}), pick(g, {j})
    pg = nx.DiGraph(propagation_graph(g))
    report = g.service().paths(a, b, max_paths=5, max_depth=6)
    try:
        best = nx.shortest_path_length(pg, a, b)
    except nx.NetworkXNoPath:
        best = None
    if best is None or best > 6:
        assert report.paths == []
        return
    assert len(report.shortest) - 1 == best
    lengths = [len(p) for p in report.paths]
    assert lengths == sorted(lengths) and len({tuple(s.uid for s in p) for p in report.paths}) == len(report.paths)
    for p in report.paths:
        nodes = [s.uid for s in p]
        assert nodes[0] == a and nodes[-1] == b and len(set(nodes)) == len(nodes)
        assert all(pg.has_edge(u, v) for u, v in itertools.pairwise(nodes))


@SETTINGS
@given(graphs(), failed_sets, st.integers(1, 100))
def test_unexplained_answers_are_the_explained_ones_without_paths_and_texts(g: Graph, idx: set[int], depth: int) -> None:
    failed = pick(g, idx)
    explained = g.service().impact(ImpactRequest(failed, max_depth=depth))
    bare = g.service().impact(ImpactRequest(failed, max_depth=depth, explain=False))
    assert all(ci.path == [] and ci.explanation == "" for ci in bare.impacted)
    assert [(c.uid, c.ci_class, c.name, c.grade, c.depth, c.redundancy) for c in bare.impacted] == [
        (c.uid, c.ci_class, c.name, c.grade, c.depth, c.redundancy) for c in explained.impacted]
    assert (bare.services, bare.owners, bare.truncated, bare.truncated_by) == (
        explained.services, explained.owners, explained.truncated, explained.truncated_by)
