"""Paths between CIs and single points of failure, hand-checked."""

from __future__ import annotations

from tests.unit.impact.impact_graphs import Graph


def uids(path) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.uid for s in path]


def test_shortest_path_and_all_paths_shortest_first() -> None:
    g = Graph().ci("h", "physical_server").ci("x", "software_instance").ci("y", "software_instance")
    g.ci("z", "software_instance").ci("app", "application")
    g.rel("x", "RUNS_ON", "h").rel("y", "RUNS_ON", "h").rel("z", "DEPENDS_ON", "y")
    g.rel("app", "DEPENDS_ON", "x").rel("app", "DEPENDS_ON", "z")
    report = g.service().paths("h", "app")
    assert uids(report.shortest) == ["h", "x", "app"]
    assert [uids(p) for p in report.paths] == [["h", "x", "app"], ["h", "y", "z", "app"]]
    assert not report.truncated
    assert [(s.rel_type, s.rel_source, s.rel_target) for s in report.shortest[1:]] == [
        ("RUNS_ON", "x", "h"), ("DEPENDS_ON", "app", "x"),
    ]
    bounded = g.service().paths("h", "app", max_paths=1)
    assert [uids(p) for p in bounded.paths] == [["h", "x", "app"]] and bounded.truncated
    shallow = g.service().paths("h", "app", max_depth=2)
    assert [uids(p) for p in shallow.paths] == [["h", "x", "app"]] and not shallow.truncated


def test_no_path_against_propagation() -> None:
    g = Graph().ci("h", "physical_server").ci("x", "software_instance").rel("x", "RUNS_ON", "h")
    report = g.service().paths("x", "h")
    assert report.shortest == [] and report.paths == []


def test_spof_of_three_tier(three_tier: Graph) -> None:
    report = three_tier.service().single_points_of_failure("shop")
    # Any one web instance leaves 2 of 3 up (min_up 2): not a single point of failure.
    assert {(s.uid, s.depth) for s in report.spofs} == {
        ("app", 1), ("lb", 2), ("db", 2), ("pool", 3), ("dbhost", 3),
    }
    assert report.considered == 8 and not report.truncated
    pool = next(s for s in report.spofs if s.uid == "pool")
    assert uids(pool.path) == ["pool", "lb", "app", "shop"]


def test_spof_without_slack_every_instance_counts(three_tier: Graph) -> None:
    three_tier.ci("pool", "cluster", min_up="3")
    spofs = {s.uid for s in three_tier.service().single_points_of_failure("shop").spofs}
    assert spofs == {"app", "lb", "db", "pool", "dbhost", "web1", "web2", "web3"}


def test_spof_finds_a_shared_host_under_redundancy() -> None:
    # pair{x, y} min_up 1, but x and y both sit on host h: h is a SPOF, x and y are not.
    g = Graph().ci("svc", "business_service").ci("pair", "cluster", min_up="1")
    g.ci("x", "virtual_machine").ci("y", "virtual_machine").ci("h", "physical_server").ci("rack", "rack")
    g.rel("svc", "DEPENDS_ON", "pair").rel("pair", "HAS_MEMBER", "x").rel("pair", "HAS_MEMBER", "y")
    g.rel("x", "HOSTED_ON", "h").rel("y", "HOSTED_ON", "h").rel("rack", "CONTAINS", "h")
    report = g.service().single_points_of_failure("svc")
    assert {s.uid for s in report.spofs} == {"pair", "h", "rack"}
    h = next(s for s in report.spofs if s.uid == "h")
    assert uids(h.path)[0] == "h" and uids(h.path)[-2:] == ["pair", "svc"]
