"""Lifecycle gating and the bounds of an answer, on both impact paths (each for real)."""

from __future__ import annotations

import pytest

from cmdb.impact import ImpactReport, ImpactRequest, UngradedCI
from tests.unit.impact.conftest_net import PATHS, service_on
from tests.unit.impact.impact_graphs import Graph, chain_graph, grades
from tests.unit.impact.net_graphs import Net


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ask(path: str, g: Graph, mp: pytest.MonkeyPatch, *uids: str, **kw: object) -> ImpactReport:
    return service_on(path, g, mp).impact(ImpactRequest(uids, **kw))  # type: ignore[arg-type]


def unknown(report: ImpactReport) -> set[tuple[str, str]]:
    assert all(isinstance(u, UngradedCI) for u in report.unknown)
    return {(u.uid, u.reason) for u in report.unknown}


def test_past_the_depth_limit_is_unknown_not_up(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = ask(path, chain_graph(), monkeypatch, "rack", max_depth=2)
    assert grades(report) == {"rack": "down", "srv": "down", "vm": "down"}
    assert unknown(report) == {("proc", "max_depth")}
    assert all(ci.depth == len(ci.path) - 1 for ci in report.impacted)


def test_past_the_node_budget_is_unknown(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    g = Graph().ci("sw", "physical_server")
    for i in range(5):
        g.ci(f"vm{i}", "virtual_machine").rel(f"vm{i}", "HOSTED_ON", "sw")
    report = ask(path, g, monkeypatch, "sw", max_nodes=3)
    kept = set(grades(report)) - {"sw"}
    assert len(kept) == 2 and kept < {f"vm{i}" for i in range(5)}
    assert unknown(report) == {(f"vm{i}", "max_nodes") for i in range(5) if f"vm{i}" not in kept}


@pytest.mark.parametrize("bounds,reached,beyond", [
    ({"max_depth": 0}, ["rack"], {("srv", "max_depth")}),
    ({"max_depth": 1}, ["rack", "srv"], {("vm", "max_depth")}),
    ({"max_nodes": 1}, ["rack"], {("srv", "max_nodes")}),
    ({"max_nodes": 2}, ["rack", "srv"], {("vm", "max_nodes")}),
])
def test_the_depth_limit_and_the_node_budget_at_their_values(
        path: str, monkeypatch: pytest.MonkeyPatch, bounds: dict[str, int], reached: list[str],
        beyond: set[tuple[str, str]]) -> None:
    # The chain has 6 CIs, 5 hops: a budget of 6 or a depth of 5 reaches them all and truncates nothing.
    report = ask(path, chain_graph(), monkeypatch, "rack", **bounds)
    assert ([ci.uid for ci in report.impacted], unknown(report), report.truncated) == (reached, beyond, True)
    for whole in ({"max_depth": 5}, {"max_nodes": 6}):
        report = ask(path, chain_graph(), monkeypatch, "rack", **whole)
        assert (len(report.impacted), report.unknown, report.truncated, report.truncated_by) == (6, [], False, ())


def test_a_grade_depending_on_an_input_past_the_bounds_says_so(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # pool needs 1 of {m1, m3}; m1 is lost at depth 1, m3 would be at depth 3 (past max_depth 2).
    g = Graph().ci("x", "physical_server").ci("h2", "physical_server").ci("h3", "physical_server")
    g.ci("m1", "virtual_machine").ci("m3", "virtual_machine").ci("pool", "cluster", min_up="1")
    g.rel("m1", "HOSTED_ON", "x").rel("h2", "HOSTED_ON", "x").rel("h3", "HOSTED_ON", "h2").rel("m3", "HOSTED_ON", "h3")
    g.rel("pool", "HAS_MEMBER", "m1").rel("pool", "HAS_MEMBER", "m3")
    report = ask(path, g, monkeypatch, "x", max_depth=2)
    assert grades(report) == {"x": "down", "m1": "down", "h2": "down", "h3": "down", "pool": "degraded"}
    assert unknown(report) == {("m3", "max_depth")}
    pool = report.by_uid()["pool"]
    assert pool.unknown_inputs == 1
    assert pool.explanation == "1 of 2 up, min_up 1 -> degraded (1 input past the bounds counted as up)"
    assert all(ci.unknown_inputs == 0 for ci in report.impacted if ci.uid != "pool")


def test_retired_cis_stop_impact_and_are_listed_stale_ones_are_marked(
    path: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    g = chain_graph()
    g.nodes["vm"] = g.nodes["vm"]._replace(status="retired")
    report = ask(path, g, monkeypatch, "rack")
    assert grades(report) == {"rack": "down", "srv": "down"}
    assert unknown(report) == {("vm", "retired")}
    g = chain_graph()
    g.nodes["proc"] = g.nodes["proc"]._replace(status="stale")
    report = ask(path, g, monkeypatch, "rack")
    assert {(ci.uid, ci.lifecycle) for ci in report.impacted} == {
        ("rack", "active"), ("srv", "active"), ("vm", "active"), ("proc", "stale"), ("app", "active"), ("bs", "active"),
    }
    assert report.unknown == []


def test_network_depth_counts_on_the_explanation_path(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # rtr - core - acc - h (h > h-sw > h-app > svc): the core's loss puts svc at depth 5.
    g = Net().device("rtr", "router").device("core").device("acc")
    g.cable("rtr", "p1", "core", "p1").cable("core", "p2", "acc", "p1")
    g.host("h", "svc").seen_behind("acc", "p2", "h")
    full = ask(path, g, monkeypatch, "core")
    assert full.by_uid()["svc"].depth == 5 and not full.truncated
    # Explained from the core through acc's port, not by h through its own NIC (cut off with it).
    assert [s.uid for s in full.by_uid()["svc"].path] == ["core", "acc", "h", "h-sw", "h-app", "svc"]
    assert full.by_uid()["h"].explanation == "lost its last path to the uplinks (via acc p2) -> down"
    report = ask(path, g, monkeypatch, "core", max_depth=4)
    assert "svc" not in report.by_uid() and ("svc", "max_depth") in unknown(report)
    assert report.truncated and all(ci.depth <= 4 and ci.depth == len(ci.path) - 1 for ci in report.impacted)


def test_depth_is_the_explanation_path_length(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # c is first reached at hop 2 (through its redundant member m1, which does not tip it), but
    # goes down through its plain input z at the end of x > y1 > y2 > z: depth 4, that path.
    g = Graph().ci("x", "physical_server").ci("m1", "virtual_machine").ci("m2", "virtual_machine")
    g.ci("c", "cluster", min_up="1").ci("y1", "virtual_machine").ci("y2", "software_instance")
    g.ci("z", "software_instance")
    g.rel("m1", "HOSTED_ON", "x").rel("c", "HAS_MEMBER", "m1").rel("c", "HAS_MEMBER", "m2")
    g.rel("y1", "HOSTED_ON", "x").rel("y2", "RUNS_ON", "y1").rel("z", "DEPENDS_ON", "y2").rel("c", "DEPENDS_ON", "z")
    for explain in (True, False):
        report = ask(path, g, monkeypatch, "x", explain=explain)
        c = report.by_uid()["c"]
        assert (c.grade.value, c.depth) == ("down", 4)
        if explain:
            assert [s.uid for s in c.path] == ["x", "y1", "y2", "z", "c"]


def test_depths_agree_with_or_without_explanations(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    g = Net().device("rtr", "router").device("core").device("acc")
    g.cable("rtr", "p1", "core", "p1").cable("core", "p2", "acc", "p1")
    g.host("h", "svc").seen_behind("acc", "p2", "h")
    explained = ask(path, g, monkeypatch, "core")
    bare = ask(path, g, monkeypatch, "core", explain=False)
    assert {(ci.uid, ci.grade, ci.depth) for ci in explained.impacted} == {
        (ci.uid, ci.grade, ci.depth) for ci in bare.impacted}
    assert explained.by_uid()["svc"].depth == 5 and all(not ci.path for ci in bare.impacted)
