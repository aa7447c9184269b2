"""Dependencies and paths reported whole: every field of the report, the filters a request
gives, and each bound at its value and one past it.

Written against mutants of ``cmdb/impact/service.py`` that survived the golden tests
(docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

from cmdb.impact.models import DependencyCI, DependencyReport, DependencyRequest, PathReport, PathStep, Truncation
from tests.unit.impact.impact_graphs import Graph


def shop() -> Graph:
    """svc -DEPENDS_ON-> app -RUNS_ON-> host, and app -DEPENDS_ON-> db (names differ from uids)."""
    g = Graph().ci("svc", "business_service", name="Shop").ci("app", "software_instance", name="shop-api")
    g.ci("host", "physical_server", name="rack4-srv2").ci("db", "database", name="orders-db")
    return g.rel("svc", "DEPENDS_ON", "app").rel("app", "RUNS_ON", "host").rel("app", "DEPENDS_ON", "db")


SVC = PathStep("svc", "Shop", "business_service")
TO_APP = PathStep("app", "shop-api", "software_instance", "DEPENDS_ON", "svc", "app")
TO_HOST = PathStep("host", "rack4-srv2", "physical_server", "RUNS_ON", "app", "host")
TO_DB = PathStep("db", "orders-db", "database", "DEPENDS_ON", "app", "db")


def test_dependencies_report_each_ci_whole_with_the_stored_relationships_of_its_path() -> None:
    # Nearest first; at one depth, in the order the index holds the relationships.
    assert shop().service().dependencies(DependencyRequest("svc")) == DependencyReport("svc", [
        DependencyCI("app", "software_instance", "shop-api", 1, [SVC, TO_APP], False),
        DependencyCI("host", "physical_server", "rack4-srv2", 2, [SVC, TO_APP, TO_HOST], False),
        DependencyCI("db", "database", "orders-db", 2, [SVC, TO_APP, TO_DB], False),
    ], False, ())


def test_dependencies_leave_out_what_is_excluded_and_what_the_filters_leave_out() -> None:
    engine = shop().service()
    assert {d.uid for d in engine.dependencies(DependencyRequest("svc", exclude=("db",))).dependencies} == {
        "app", "host"}
    # Excluding the root itself excludes nothing.
    assert {d.uid for d in engine.dependencies(DependencyRequest("svc", exclude=("svc",))).dependencies} == {
        "app", "db", "host"}
    only = DependencyRequest("svc", rel_types=("DEPENDS_ON",))
    assert {d.uid for d in engine.dependencies(only).dependencies} == {"app", "db"}


def test_dependencies_stop_at_max_nodes_and_say_so() -> None:
    engine = shop().service()
    whole = engine.dependencies(DependencyRequest("svc", max_nodes=3))
    assert {d.uid for d in whole.dependencies} == {"app", "db", "host"} and whole.truncated is False
    cut = engine.dependencies(DependencyRequest("svc", max_nodes=2))
    assert [d.uid for d in cut.dependencies] == ["app", "host"]
    assert cut.truncated is True and cut.truncated_by == (Truncation.MAX_NODES,)


def test_a_path_from_a_ci_to_itself_is_that_ci() -> None:
    assert shop().service().paths("app", "app") == PathReport(
        "app", "app", [PathStep("app", "shop-api", "software_instance")],
        [[PathStep("app", "shop-api", "software_instance")]], False)


def test_no_path_is_an_empty_report() -> None:
    # A database's loss does not reach the host (propagation runs host -> app -> svc, db -> app).
    assert shop().service().paths("db", "host") == PathReport("db", "host", [], [], False)


def test_a_path_is_reported_whole_and_the_filters_apply() -> None:
    engine = shop().service()
    host = PathStep("host", "rack4-srv2", "physical_server")
    app = PathStep("app", "shop-api", "software_instance", "RUNS_ON", "app", "host")
    svc = PathStep("svc", "Shop", "business_service", "DEPENDS_ON", "svc", "app")
    assert engine.paths("host", "svc") == PathReport("host", "svc", [host, app, svc], [[host, app, svc]], False)
    assert engine.paths("host", "svc", rel_types=("DEPENDS_ON",)) == PathReport("host", "svc", [], [], False)


def diamond(width: int) -> Graph:
    """a is needed by ``width`` CIs m0..m<width-1>, each needed by z: ``width`` paths of 2 hops."""
    g = Graph().ci("a", "physical_server").ci("z", "business_service")
    for i in range(width):
        g.ci(f"m{i}", "software_instance").rel(f"m{i}", "RUNS_ON", "a").rel("z", "DEPENDS_ON", f"m{i}")
    return g


def test_paths_up_to_max_paths_and_truncated_only_past_it() -> None:
    engine = diamond(3).service()
    at = engine.paths("a", "z", max_paths=3)
    assert len(at.paths) == 3 and at.truncated is False
    assert {tuple(s.uid for s in p) for p in at.paths} == {("a", "m0", "z"), ("a", "m1", "z"), ("a", "m2", "z")}
    under = engine.paths("a", "z", max_paths=2)
    assert len(under.paths) == 2 and under.truncated is True


def test_paths_within_max_depth_hops() -> None:
    engine = shop().service()
    assert [s.uid for s in engine.paths("host", "svc", max_depth=2).shortest] == ["host", "app", "svc"]
    assert engine.paths("host", "svc", max_depth=1) == PathReport("host", "svc", [], [], False)


def test_a_longer_walk_through_ccis_on_short_paths_is_not_a_path_within_max_depth() -> None:
    # a is needed by x and y, x by y, and both by b: a-x-b and a-y-b take 2 hops; a-x-y-b takes 3,
    # though each of its CIs lies on a 2-hop path.
    g = Graph().ci("a", "physical_server").ci("x", "software_instance").ci("y", "software_instance")
    g.ci("b", "business_service")
    g.rel("x", "RUNS_ON", "a").rel("y", "RUNS_ON", "a").rel("y", "DEPENDS_ON", "x")
    g.rel("b", "DEPENDS_ON", "x").rel("b", "DEPENDS_ON", "y")
    engine = g.service()
    within = engine.paths("a", "b", max_depth=2)
    assert {tuple(s.uid for s in p) for p in within.paths} == {("a", "x", "b"), ("a", "y", "b")}
    assert within.truncated is False
    longer = engine.paths("a", "b", max_depth=3)
    assert {tuple(s.uid for s in p) for p in longer.paths} == {("a", "x", "b"), ("a", "y", "b"), ("a", "x", "y", "b")}


def test_paths_by_default_up_to_ten_paths_six_hops_any_confidence() -> None:
    many = diamond(11).service().paths("a", "z")
    assert len(many.paths) == 10 and many.truncated is True
    chain = Graph().ci("c0", "physical_server")
    for i in range(1, 8):
        chain.ci(f"c{i}", "software_instance").rel(f"c{i}", "DEPENDS_ON", f"c{i - 1}")
    engine = chain.service()
    assert [s.uid for s in engine.paths("c0", "c6").shortest] == [f"c{i}" for i in range(7)]
    assert engine.paths("c0", "c7") == PathReport("c0", "c7", [], [], False)  # 7 hops
    weak = Graph().ci("h", "physical_server").ci("x", "software_instance")
    weak.rel("x", "RUNS_ON", "h", method="inferred", confidence=0.4)
    assert [s.uid for s in weak.service().paths("h", "x").shortest] == ["h", "x"]
