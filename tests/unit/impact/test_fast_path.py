"""The plain-Python walk and the vectorised path give identical impact answers.

Every field is compared (``ImpactReport`` equality): impacted CIs in order, grades,
depths, explanation paths and texts, redundancy GroupState, services, owners and
truncation, on generated graphs (redundancy groups with count and % min_up, cycles,
every impact direction, uncertain edges, relationships changed after the index was
built, so the overlay and masked keys are in play) and on the golden fixtures.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb.impact import ImpactReport, ImpactRequest, ImpactService
from cmdb.impact.propagation import Filters
from cmdb.impact.walk import PlainAdjacency, walk
from cmdb.store.protocol import EdgeRow, NodeRow
from cmdb.topology import TopologyIndex
from schema import load_schema
from tests.unit.impact.impact_graphs import Graph, as_changeset, chain_graph, three_tier_graph
from tests.unit.impact.test_properties import GROUP_CLASSES, PLAIN_CLASSES, TYPES

SCHEMA = load_schema()
ALWAYS = 10**9
NEVER = 0


def _services(index: TopologyIndex) -> tuple[ImpactService, ImpactService]:
    return ImpactService(index, SCHEMA, fast_path_limit=ALWAYS), ImpactService(index, SCHEMA, fast_path_limit=NEVER)


def _both(fast: ImpactService, slow: ImpactService, request: ImpactRequest) -> tuple[ImpactReport, ImpactReport]:
    return fast.impact(request), slow.impact(request)


@st.composite
def estates(draw: st.DrawFn) -> tuple[TopologyIndex, list[str]]:
    """A random graph, then a random change set applied to its index (overlay edges, masked ones)."""
    n = draw(st.integers(2, 14))
    g = Graph(schema=SCHEMA)
    classes = PLAIN_CLASSES + GROUP_CLASSES
    for i in range(n):
        cls = draw(st.sampled_from(classes))
        min_up = draw(st.sampled_from([None, "1", "2", "3", "50%", "66%", "100%"])) if cls in GROUP_CLASSES else None
        g.ci(f"n{i}", cls, min_up=min_up, owner=draw(st.sampled_from([None, "team-a", "team-b"])))

    def edge() -> EdgeRow:
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        method = draw(st.sampled_from(["declared", "config", "traffic", "inferred"]))
        conf = draw(st.sampled_from([0.1, 0.5, 0.9, 1.0]))
        status = draw(st.sampled_from(["active", "active", "active", "stale"]))
        return EdgeRow(f"n{a}", draw(st.sampled_from(TYPES)), f"n{b}", method, conf, status)

    for _ in range(draw(st.integers(0, 3 * n))):
        e = edge()
        g.rel(e.source_uid, e.type, e.target_uid, method=e.method, confidence=e.confidence, status=e.status)
    index = g.index()
    if draw(st.booleans()):
        # Changes after the build: new edges (overlay), retired or re-typed ones (masked), class and min_up changes.
        changed = [edge() for _ in range(draw(st.integers(0, 2 * n)))]
        for key in draw(st.lists(st.sampled_from(sorted(g.edges)), max_size=4)) if g.edges else []:
            old = g.edges[key]
            changed.append(EdgeRow(old.source_uid, old.type, old.target_uid, old.method, old.confidence,
                                   draw(st.sampled_from(["retired", "active"]))))
        nodes = []
        for i in draw(st.lists(st.integers(0, n - 1), max_size=3)):
            cls = draw(st.sampled_from(classes))
            min_up = draw(st.sampled_from([None, "1", "2", "50%"])) if cls in GROUP_CLASSES else None
            nodes.append(NodeRow(f"n{i}", cls, "active", f"n{i}", min_up, draw(st.sampled_from([None, "team-c"]))))
        extra = draw(st.integers(0, 2))
        nodes += [NodeRow(f"x{i}", draw(st.sampled_from(classes)), "active", f"x{i}", None, None) for i in range(extra)]
        changed += [EdgeRow(f"x{i}", draw(st.sampled_from(TYPES)), f"n{draw(st.integers(0, n - 1))}", "declared", 1.0,
                            "active") for i in range(extra)]
        index.apply(as_changeset(nodes, changed))
    topo = index.view()
    return index, [topo.uid(i) for i in range(topo.n)]


@st.composite
def requests(draw: st.DrawFn, uids: list[str]) -> ImpactRequest:
    roots = tuple(draw(st.lists(st.sampled_from(uids), min_size=1, max_size=3)))
    exclude = tuple(draw(st.lists(st.sampled_from(uids), max_size=2)))
    rel_types = draw(st.one_of(st.none(), st.lists(st.sampled_from(TYPES), max_size=4).map(tuple)))
    return ImpactRequest(
        roots,
        max_depth=draw(st.sampled_from([0, 1, 2, 3, 6, 100])),
        max_nodes=draw(st.sampled_from([1, 2, 3, 5, 10_000])),
        exclude=exclude,
        rel_types=rel_types,
        min_confidence=draw(st.sampled_from([0.0, 0.0, 0.5, 0.95])),
        explain=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_both_paths_answer_alike_on_generated_graphs(data: st.DataObject) -> None:
    index, uids = data.draw(estates())
    fast, slow = _services(index)
    for _ in range(4):  # one service per path across questions: the per-view caches are in play
        request = data.draw(requests(uids))
        a, b = _both(fast, slow, request)
        assert a == b


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_walk_past_its_limit_falls_back_to_the_same_answer(data: st.DataObject) -> None:
    index, uids = data.draw(estates())
    limit = data.draw(st.integers(1, 6))
    request = data.draw(requests(uids))
    small = ImpactService(index, SCHEMA, fast_path_limit=limit)
    assert small.impact(request) == ImpactService(index, SCHEMA, fast_path_limit=NEVER).impact(request)


def test_the_walk_gives_up_past_its_limit_and_answers_within_it() -> None:
    index = three_tier_graph().index()
    topo = index.view()
    adj = PlainAdjacency(topo)
    web1 = topo.id_of("web1")
    assert web1 is not None
    kw = {"max_depth": 6, "max_nodes": 100, "blocked": set[int](), "filters": Filters(None, 0.0), "memo": None}
    assert walk(adj, [web1], limit=4, **kw) is None  # type: ignore[arg-type]
    walked = walk(adj, [web1], limit=5, **kw)  # type: ignore[arg-type]
    assert walked is not None and [topo.uid(n) for n in walked.order] == ["web1", "pool", "lb", "app", "shop"]


def test_both_paths_answer_alike_on_the_golden_fixtures() -> None:
    for g in (three_tier_graph(), chain_graph()):
        fast, slow = _services(g.index())
        uids = sorted(g.nodes)
        for k in (1, 2, 3):
            for roots in itertools.combinations(uids, k):
                for depth, budget, exclude in ((6, 10_000, ()), (1, 10_000, ()), (0, 10_000, ()), (6, 3, ()),
                                               (6, 10_000, (uids[0],)), (6, 10_000, ("app",))):
                    for explain in (True, False):
                        request = ImpactRequest(roots, max_depth=depth, max_nodes=budget, exclude=exclude,
                                                explain=explain)
                        a, b = _both(fast, slow, request)
                        assert a == b, request


def test_past_the_cache_bound_edges_are_read_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cmdb.impact.walk.PLAIN_CACHE_CIS", 2)
    g = three_tier_graph()
    fast, slow = _services(g.index())
    for _ in range(2):  # the second round meets cached and uncached CIs
        for uid in sorted(g.nodes):
            a, b = _both(fast, slow, ImpactRequest((uid,)))
            assert a == b
