"""TopologyIndex: build, incremental apply (overlay and compaction), concurrent readers."""

from __future__ import annotations

import random
import threading

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb.impact import DependencyRequest, ImpactRequest, ImpactService
from cmdb.store.protocol import EdgeRow, NodeRow
from cmdb.topology import TopologyIndex
from schema import load_schema
from tests.unit.impact.impact_graphs import Graph, as_changeset

SCHEMA = load_schema()


def answers(index: TopologyIndex, uids: list[str]) -> dict[str, object]:
    """Everything the service says about each CI, in comparable form."""
    service = ImpactService(index, SCHEMA)
    out: dict[str, object] = {}
    for uid in uids:
        report = service.impact(ImpactRequest((uid,), max_depth=20))
        # Which of several equal inputs an explanation names depends on edge order: compare the verdicts.
        out[f"impact:{uid}"] = sorted((c.uid, c.grade.value, c.depth) for c in report.impacted)
        deps = service.dependencies(DependencyRequest(uid, max_depth=20))
        out[f"deps:{uid}"] = sorted((d.uid, d.depth, d.redundant) for d in deps.dependencies)
    return out


def test_from_rows_builds_csr_both_ways() -> None:
    g = Graph().ci("h", "physical_server", owner="ops").ci("x", "software_instance", name="nginx")
    g.ci("ip", "ip_address").rel("x", "RUNS_ON", "h").rel("h", "HAS_ADDRESS", "ip")
    g.rel("x", "DEPENDS_ON", "h", status="retired")
    index = g.index()
    topo = index.view()
    h, x = topo.id_of("h"), topo.id_of("x")
    assert h is not None and x is not None
    assert topo.name(x) == "nginx" and topo.owner(h) == "ops" and topo.class_name(h) == "physical_server"
    fwd = topo.expand(np.array([h], np.int32), True)
    assert list(zip(fwd.frm.tolist(), fwd.to.tolist(), strict=True)) == [(h, x)]
    rev = topo.expand(np.array([x], np.int32), False)
    assert list(zip(rev.frm.tolist(), rev.to.tolist(), strict=True)) == [(h, x)]
    assert index.stats is not None
    assert (index.stats.relationships_read, index.stats.relationships_indexed) == (3, 1)
    assert topo.id_of("nope") is None


def test_unknown_endpoints_are_skipped_and_counted() -> None:
    index = TopologyIndex.from_rows(
        [NodeRow("a", "application", "active", "a", None, None)],
        [EdgeRow("a", "DEPENDS_ON", "ghost", "declared", 1.0, "active")],
        SCHEMA,
    )
    assert index.stats is not None and index.stats.skipped_unknown_end == 1


def test_apply_adds_nodes_and_edges(three_tier: Graph) -> None:
    index = three_tier.index()
    index.apply(as_changeset(
        [NodeRow("web4", "virtual_machine", "active", "web4", None, None)],
        [EdgeRow("pool", "HAS_MEMBER", "web4", "declared", 1.0, "active")],
    ))
    report = ImpactService(index, SCHEMA).impact(ImpactRequest(("web1", "web2")))
    assert report.by_uid()["pool"].explanation == "2 of 4 up, min_up 2 -> degraded"


def test_retiring_a_relationship_removes_it_from_propagation(three_tier: Graph) -> None:
    index = three_tier.index()
    index.apply(as_changeset([], [EdgeRow("db", "RUNS_ON", "dbhost", "declared", 1.0, "retired")]))
    service = ImpactService(index, SCHEMA)
    assert [c.uid for c in service.impact(ImpactRequest(("dbhost",))).impacted] == ["dbhost"]
    index.apply(as_changeset([], [EdgeRow("db", "RUNS_ON", "dbhost", "declared", 1.0, "active")]))
    assert {c.uid for c in service.impact(ImpactRequest(("dbhost",))).impacted} == {"dbhost", "db", "app", "shop"}


def test_min_up_and_class_changes_apply(three_tier: Graph) -> None:
    index = three_tier.index()
    service = ImpactService(index, SCHEMA)
    old_view = index.view()
    index.apply(as_changeset([NodeRow("pool", "cluster", "active", "pool", "1", None)], []))
    assert service.impact(ImpactRequest(("web1", "web2"))).by_uid()["pool"].grade.value == "degraded"
    # A view taken before the change still answers with the old min_up.
    assert ImpactService(_Fixed(old_view), SCHEMA).impact(ImpactRequest(("web1", "web2"))).by_uid()["pool"].grade.value == "down"
    # A class without a redundancy group: any member down takes it down.
    index.apply(as_changeset([NodeRow("pool", "application", "active", "pool", None, None)], []))
    assert service.impact(ImpactRequest(("web1",))).by_uid()["pool"].grade.value == "down"


class _Fixed(TopologyIndex):
    def __init__(self, view) -> None:  # type: ignore[no-untyped-def]
        super().__init__(view)


def test_unchanged_relationship_updates_do_not_grow_the_overlay(three_tier: Graph) -> None:
    index = three_tier.index()
    same = as_changeset(list(three_tier.nodes.values()), list(three_tier.edges.values()))
    index.apply(same)
    assert index.view().overlay.size() == 0
    index.apply(as_changeset([], [EdgeRow("app", "DEPENDS_ON", "db", "traffic", 0.5, "active")]))
    assert len(index.view().overlay.edges) == 1 and index.view().overlay.masked.shape[0] == 1
    report = ImpactService(index, SCHEMA).impact(ImpactRequest(("dbhost",), min_confidence=0.6))
    assert {c.uid for c in report.impacted} == {"dbhost", "db"}


@st.composite
def scripts(draw: st.DrawFn) -> tuple[Graph, list[tuple[list[NodeRow], list[EdgeRow]]]]:
    """A random start graph and a random sequence of change batches."""
    classes = ["cluster", "virtual_machine", "software_instance", "application", "business_service", "rack"]
    types = ["DEPENDS_ON", "RUNS_ON", "HAS_MEMBER", "CONTAINS", "CONNECTS_TO", "HAS_ADDRESS"]
    n = draw(st.integers(2, 10))
    g = Graph(schema=SCHEMA)
    for i in range(n):
        g.ci(f"n{i}", draw(st.sampled_from(classes)), min_up=draw(st.sampled_from([None, "1", "2", "50%"])))
    for _ in range(draw(st.integers(0, 2 * n))):
        g.rel(f"n{draw(st.integers(0, n - 1))}", draw(st.sampled_from(types)), f"n{draw(st.integers(0, n - 1))}")
    batches: list[tuple[list[NodeRow], list[EdgeRow]]] = []
    total = n
    for _ in range(draw(st.integers(1, 5))):
        nodes: list[NodeRow] = []
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                uid = f"n{total}"
                total += 1
            else:
                uid = f"n{draw(st.integers(0, total - 1))}"
            nodes.append(NodeRow(uid, draw(st.sampled_from(classes)), "active", uid,
                                 draw(st.sampled_from([None, "1", "2"])), None))
        known = total
        edges = [
            EdgeRow(f"n{draw(st.integers(0, known - 1))}", draw(st.sampled_from(types)),
                    f"n{draw(st.integers(0, known - 1))}", draw(st.sampled_from(["declared", "traffic"])),
                    draw(st.sampled_from([0.3, 0.9])), draw(st.sampled_from(["active", "active", "retired"])))
            for _ in range(draw(st.integers(0, 4)))
        ]
        # Batches only name CIs that exist by then (the ingest path writes CIs first).
        created = {r.uid for r in nodes} | set(g.nodes) | {f"n{i}" for i in range(known)}
        nodes += [NodeRow(u, "software_instance", "active", u, None, None)
                  for u in sorted(created - set(g.nodes) - {r.uid for r in nodes} - _created_before(batches))]
        batches.append((nodes, edges))
    return g, batches


def _created_before(batches: list[tuple[list[NodeRow], list[EdgeRow]]]) -> set[str]:
    return {r.uid for nodes, _ in batches for r in nodes}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(), st.sampled_from([1, 3, 1_000_000]))
def test_incremental_apply_equals_a_fresh_load(script, threshold: int) -> None:  # type: ignore[no-untyped-def]
    g, batches = script
    index = g.index(compact_threshold=threshold)
    nodes = dict(g.nodes)
    edges = dict(g.edges)
    for batch_nodes, batch_edges in batches:
        index.apply(as_changeset(batch_nodes, batch_edges))
        nodes.update({r.uid: r for r in batch_nodes})
        edges.update({(e.source_uid, e.type, e.target_uid): e for e in batch_edges})
    fresh = TopologyIndex.from_rows(list(nodes.values()), list(edges.values()), SCHEMA)
    uids = sorted(nodes)
    assert answers(index, uids) == answers(fresh, uids)


def test_readers_run_while_apply_runs() -> None:
    rng = random.Random(7)
    g = Graph(schema=SCHEMA)
    for i in range(300):
        g.ci(f"n{i}", rng.choice(["cluster", "virtual_machine", "application"]), min_up=rng.choice([None, "2"]))
    for _ in range(900):
        g.rel(f"n{rng.randrange(300)}", rng.choice(["DEPENDS_ON", "HAS_MEMBER", "RUNS_ON"]), f"n{rng.randrange(300)}")
    index = g.index(compact_threshold=50)
    service = ImpactService(index, SCHEMA)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                service.impact(ImpactRequest((f"n{rng.randrange(300)}",), max_depth=10))
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    final_edges = dict(g.edges)
    final_nodes = dict(g.nodes)
    for step in range(80):
        new = NodeRow(f"m{step}", "virtual_machine", "active", f"m{step}", None, None)
        rels = [
            EdgeRow(f"n{rng.randrange(300)}", "HAS_MEMBER", new.uid, "declared", 1.0, "active"),
            EdgeRow(f"n{rng.randrange(300)}", "DEPENDS_ON", f"n{rng.randrange(300)}", "declared", 1.0,
                    rng.choice(["active", "retired"])),
        ]
        index.apply(as_changeset([new], rels))
        final_nodes[new.uid] = new
        final_edges.update({(e.source_uid, e.type, e.target_uid): e for e in rels})
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    fresh = TopologyIndex.from_rows(list(final_nodes.values()), list(final_edges.values()), SCHEMA)
    sample = [f"n{i}" for i in range(0, 300, 7)] + ["m5", "m70"]
    assert answers(index, sample) == answers(fresh, sample)
