"""Golden impact scenarios; every expected answer below was worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmdb.impact import (
    DependencyRequest,
    Grade,
    GroupState,
    ImpactRequest,
    InvalidRequest,
    Truncation,
    UnknownCI,
    UnknownRelationshipType,
)
from cmdb.impact.service import ImpactService
from cmdb.store.protocol import EdgeRow
from tests.unit.impact.conftest_net import PATHS
from tests.unit.impact.impact_graphs import Graph, grades


@pytest.fixture(autouse=True, params=PATHS)
def impact_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every golden scenario on both impact paths, each for real: the other one fails if taken.

    (The conftest hook that parametrized these tests before never set the fixture up:
    both variants ran the plain walk.)
    """
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError(f"{request.param}: the other impact path was taken")

    if request.param == "vectorised":
        monkeypatch.setattr("cmdb.impact.service.FAST_PATH_LIMIT", 0)
        monkeypatch.setattr("cmdb.impact.service.walk", refuse)
    else:
        monkeypatch.setattr("cmdb.impact.service.FAST_PATH_LIMIT", 1_000_000)
        monkeypatch.setattr("cmdb.impact.service.reach", _impact_reach_refused(refuse))
    return str(request.param)


def _impact_reach_refused(refuse: Callable[..., object]) -> Callable[..., Any]:
    """``reach`` that refuses forward (impact) walks; dependency, path and SPOF queries still use it."""
    from cmdb.impact.propagation import reach

    def guarded(*args, forward, **kwargs):  # type: ignore[no-untyped-def]
        if forward:
            refuse()
        return reach(*args, forward=forward, **kwargs)
    return guarded


def impact(g: Graph, *uids: str, **kw: object):  # type: ignore[no-untyped-def]
    return g.service().impact(ImpactRequest(uids, **kw))  # type: ignore[arg-type]


def steps(ci) -> list[tuple[str, str | None, str | None, str | None]]:  # type: ignore[no-untyped-def]
    return [(s.uid, s.rel_type, s.rel_source, s.rel_target) for s in ci.path]


# -- three-tier app behind a load balancer, 3 instances, min_up 2 -----------------------

def test_one_instance_down_degrades_the_whole_stack(three_tier: Graph) -> None:
    report = impact(three_tier, "web1")
    assert grades(report) == {
        "web1": "down", "pool": "degraded", "lb": "degraded", "app": "degraded", "shop": "degraded",
    }
    by = report.by_uid()
    assert by["pool"].explanation == "2 of 3 up, min_up 2 -> degraded"
    assert by["pool"].redundancy == GroupState(up=2, size=3, required=2) and by["pool"].redundancy.margin == 0
    assert by["lb"].explanation == "input pool degraded (ROUTES_TO) -> degraded"
    assert by["lb"].redundancy is None and by["web1"].redundancy is None
    assert {(ci.uid, ci.depth) for ci in report.impacted} == {
        ("web1", 0), ("pool", 1), ("lb", 2), ("app", 3), ("shop", 4),
    }
    assert steps(by["shop"]) == [
        ("web1", None, None, None),
        ("pool", "HAS_MEMBER", "pool", "web1"),
        ("lb", "ROUTES_TO", "lb", "pool"),
        ("app", "DEPENDS_ON", "app", "lb"),
        ("shop", "DEPENDS_ON", "shop", "app"),
    ]
    assert not report.truncated
    assert {(s.uid, s.grade, s.owner) for s in report.services} == {
        ("app", Grade.DEGRADED, "team-app"), ("shop", Grade.DEGRADED, "team-shop"),
    }
    assert report.owners == ["team-app", "team-shop"]


def test_two_instances_down_take_the_stack_down(three_tier: Graph) -> None:
    report = impact(three_tier, "web1", "web2")
    assert grades(report) == {
        "web1": "down", "web2": "down", "pool": "down", "lb": "down", "app": "down", "shop": "down",
    }
    by = report.by_uid()
    assert by["pool"].explanation == "1 of 3 up, min_up 2 -> down"
    assert by["pool"].redundancy == GroupState(up=1, size=3, required=2) and by["pool"].redundancy.margin == -1
    assert by["lb"].explanation == "input pool down (ROUTES_TO) -> down"
    assert by["shop"].explanation == "0 of 1 up, min_up 100% = 1 -> down"  # business services: 100% of DEPENDS_ON
    assert by["shop"].redundancy == GroupState(up=0, size=1, required=1)


def test_all_three_down_says_zero_up(three_tier: Graph) -> None:
    report = impact(three_tier, "web1", "web2", "web3")
    assert report.by_uid()["pool"].explanation == "0 of 3 up, min_up 2 -> down"


def test_database_host_down_is_a_plain_chain(three_tier: Graph) -> None:
    report = impact(three_tier, "dbhost")
    assert grades(report) == {"dbhost": "down", "db": "down", "app": "down", "shop": "down"}
    assert report.by_uid()["db"].explanation == "input dbhost down (RUNS_ON) -> down"


def test_percentage_min_up(three_tier: Graph) -> None:
    three_tier.ci("pool", "cluster", min_up="66%")  # ceil(0.66 * 3) = 2
    assert grades(impact(three_tier, "web1"))["pool"] == "degraded"
    assert impact(three_tier, "web1", "web2").by_uid()["pool"].explanation == "1 of 3 up, min_up 66% = 2 -> down"


def test_class_default_min_up_applies_without_override(three_tier: Graph) -> None:
    three_tier.ci("pool", "cluster")  # cluster default min_up 1
    assert grades(impact(three_tier, "web1", "web2"))["pool"] == "degraded"
    assert grades(impact(three_tier, "web1", "web2", "web3"))["pool"] == "down"


# -- redundancy nested at two levels ---------------------------------------------------

@pytest.fixture
def nested() -> Graph:
    """app RUNS_ON region{pool_a{a1,a2}, pool_b{b1,b2}}; every group min_up 1."""
    g = Graph()
    g.ci("app", "application").ci("region", "cluster", min_up="1")
    g.rel("app", "RUNS_ON", "region")
    for pool in ("a", "b"):
        g.ci(f"pool_{pool}", "cluster", min_up="1").rel("region", "HAS_MEMBER", f"pool_{pool}")
        for i in (1, 2):
            g.ci(f"{pool}{i}", "virtual_machine").rel(f"pool_{pool}", "HAS_MEMBER", f"{pool}{i}")
    return g


@pytest.mark.parametrize(
    ("failed", "expected"),
    [
        (("a1",), {"a1": "down", "pool_a": "degraded", "region": "degraded", "app": "degraded"}),
        (("a1", "a2"), {"a1": "down", "a2": "down", "pool_a": "down", "region": "degraded", "app": "degraded"}),
        (("a1", "b1"), {"a1": "down", "b1": "down", "pool_a": "degraded", "pool_b": "degraded",
                        "region": "degraded", "app": "degraded"}),
        (("a1", "a2", "b1"), {"a1": "down", "a2": "down", "b1": "down", "pool_a": "down",
                              "pool_b": "degraded", "region": "degraded", "app": "degraded"}),
        (("a1", "a2", "b1", "b2"), {"a1": "down", "a2": "down", "b1": "down", "b2": "down", "pool_a": "down",
                                    "pool_b": "down", "region": "down", "app": "down"}),
    ],
)
def test_nested_redundancy(nested: Graph, failed: tuple[str, ...], expected: dict[str, str]) -> None:
    assert grades(impact(nested, *failed)) == expected


def test_nested_redundancy_explanations(nested: Graph) -> None:
    by = impact(nested, "a1", "a2").by_uid()
    assert by["pool_a"].explanation == "0 of 2 up, min_up 1 -> down"
    assert by["region"].explanation == "1 of 2 up, min_up 1 -> degraded"
    assert by["app"].explanation == "input region degraded (RUNS_ON) -> degraded"
    by = impact(nested, "a1", "b1").by_uid()
    # A degraded group member degrades, it does not count as down.
    assert by["region"].explanation == "input pool_a degraded (HAS_MEMBER) -> degraded"


# -- diamond ---------------------------------------------------------------------------

def test_diamond_reaches_the_top_once_at_shortest_depth() -> None:
    g = Graph().ci("h", "physical_server").ci("x", "software_instance").ci("y", "software_instance")
    g.ci("app", "application")
    g.rel("x", "RUNS_ON", "h").rel("y", "RUNS_ON", "h").rel("app", "DEPENDS_ON", "x").rel("app", "DEPENDS_ON", "y")
    report = impact(g, "h")
    assert {(c.uid, c.grade.value, c.depth) for c in report.impacted} == {
        ("h", "down", 0), ("x", "down", 1), ("y", "down", 1), ("app", "down", 2),
    }
    assert [s.uid for s in report.by_uid()["app"].path] in (["h", "x", "app"], ["h", "y", "app"])


def test_diamond_under_a_redundant_pair_correlated_failure_defeats_redundancy() -> None:
    g = Graph().ci("h", "physical_server").ci("x", "virtual_machine").ci("y", "virtual_machine")
    g.ci("pair", "cluster", min_up="1")
    g.rel("x", "HOSTED_ON", "h").rel("y", "HOSTED_ON", "h").rel("pair", "HAS_MEMBER", "x").rel("pair", "HAS_MEMBER", "y")
    report = impact(g, "h")
    assert grades(report) == {"h": "down", "x": "down", "y": "down", "pair": "down"}
    assert report.by_uid()["pair"].explanation == "0 of 2 up, min_up 1 -> down"
    assert grades(impact(g, "x")) == {"x": "down", "pair": "degraded"}


# -- cycle -----------------------------------------------------------------------------

def test_cycle_terminates_and_grades_everything_down() -> None:
    g = Graph().ci("a", "software_instance").ci("b", "software_instance").ci("c", "software_instance")
    g.rel("a", "DEPENDS_ON", "b").rel("b", "DEPENDS_ON", "c").rel("c", "DEPENDS_ON", "a")
    report = impact(g, "a")
    # c needs a, b needs c: a -> c -> b
    assert {(c.uid, c.grade.value, c.depth) for c in report.impacted} == {("a", "down", 0), ("c", "down", 1), ("b", "down", 2)}
    assert [s.uid for s in report.by_uid()["b"].path] == ["a", "c", "b"]


def test_redundant_cycle_stays_degraded() -> None:
    # pool{m1, m2} min_up 1, and m2 needs the pool back (a loop through a group).
    g = Graph().ci("pool", "cluster", min_up="1").ci("m1", "virtual_machine").ci("m2", "software_instance")
    g.rel("pool", "HAS_MEMBER", "m1").rel("pool", "HAS_MEMBER", "m2").rel("m2", "DEPENDS_ON", "pool")
    assert grades(impact(g, "m1")) == {"m1": "down", "pool": "degraded", "m2": "degraded"}


# -- containment chain -----------------------------------------------------------------

def test_containment_chain_rack_to_business_service(chain: Graph) -> None:
    report = impact(chain, "rack")
    assert {(c.uid, c.ci_class, c.grade.value, c.depth) for c in report.impacted} == {
        ("rack", "rack", "down", 0), ("srv", "physical_server", "down", 1), ("vm", "virtual_machine", "down", 2),
        ("proc", "software_instance", "down", 3), ("app", "application", "down", 4),
        ("bs", "business_service", "down", 5),
    }
    by = report.by_uid()
    assert by["srv"].explanation == "input rack down (CONTAINS) -> down"
    assert steps(by["bs"]) == [
        ("rack", None, None, None),
        ("srv", "CONTAINS", "rack", "srv"),
        ("vm", "HOSTED_ON", "vm", "srv"),
        ("proc", "RUNS_ON", "proc", "vm"),
        ("app", "RUNS_ON", "app", "proc"),
        ("bs", "DEPENDS_ON", "bs", "app"),
    ]
    assert {(s.uid, s.owner) for s in report.services} == {("app", "team-app"), ("bs", "team-bs")}


def test_containment_does_not_flow_upward(chain: Graph) -> None:
    # A server down takes down what it hosts, not its rack.
    assert set(grades(impact(chain, "srv"))) == {"srv", "vm", "proc", "app", "bs"}


def test_dependencies_of_the_business_service(chain: Graph) -> None:
    report = chain.service().dependencies(DependencyRequest("bs"))
    assert {(d.uid, d.depth, d.redundant) for d in report.dependencies} == {
        ("app", 1, False), ("proc", 2, False), ("vm", 3, False), ("srv", 4, False), ("rack", 5, False),
    }
    rack = next(d for d in report.dependencies if d.uid == "rack")
    # Each step: the CI (its uid, name and class) and the stored relationship crossed to reach it.
    assert [(s.uid, s.name, s.ci_class, s.rel_type, s.rel_source, s.rel_target) for s in rack.path] == [
        ("bs", "bs", "business_service", None, None, None),
        ("app", "app", "application", "DEPENDS_ON", "bs", "app"),
        ("proc", "proc", "software_instance", "RUNS_ON", "app", "proc"),
        ("vm", "vm", "virtual_machine", "RUNS_ON", "proc", "vm"),
        ("srv", "srv", "physical_server", "HOSTED_ON", "vm", "srv"),
        ("rack", "rack", "rack", "CONTAINS", "rack", "srv")]
    assert {d.uid: [s.uid for s in d.path] for d in report.dependencies} == {
        "app": ["bs", "app"], "proc": ["bs", "app", "proc"], "vm": ["bs", "app", "proc", "vm"],
        "srv": ["bs", "app", "proc", "vm", "srv"], "rack": ["bs", "app", "proc", "vm", "srv", "rack"]}
    assert not report.truncated
    short = chain.service().dependencies(DependencyRequest("bs", max_depth=2))
    assert {d.uid for d in short.dependencies} == {"app", "proc"}
    assert short.truncated_by == (Truncation.MAX_DEPTH,)


def test_dependencies_flag_paths_through_tolerant_groups(three_tier: Graph) -> None:
    deps = three_tier.service().dependencies(DependencyRequest("shop")).dependencies
    assert {(d.uid, d.redundant) for d in deps} == {
        ("app", False), ("lb", False), ("db", False), ("pool", False), ("dbhost", False),
        ("web1", True), ("web2", True), ("web3", True),
    }


# -- exclusion, truncation, filters ------------------------------------------------------

def test_exclusion_stops_propagation(chain: Graph) -> None:
    report = impact(chain, "rack", exclude=("vm",))
    assert grades(report) == {"rack": "down", "srv": "down"}
    assert report.services == [] and report.owners == []


def test_exclusion_does_not_hide_an_independent_path(three_tier: Graph) -> None:
    # Excluding the lb side leaves the database side to reach the app.
    report = impact(three_tier, "dbhost", "web1", "web2", exclude=("lb",))
    assert grades(report) == {
        "dbhost": "down", "web1": "down", "web2": "down", "pool": "down", "db": "down", "app": "down", "shop": "down",
    }


def test_truncated_by_node_budget() -> None:
    g = Graph().ci("rack", "rack")
    for i in range(5):
        g.ci(f"s{i}", "physical_server").rel("rack", "CONTAINS", f"s{i}")
    report = impact(g, "rack", max_nodes=3)
    assert report.truncated and report.truncated_by == (Truncation.MAX_NODES,)
    assert grades(report) == {"rack": "down", "s0": "down", "s1": "down"}


def test_truncated_by_depth(chain: Graph) -> None:
    report = impact(chain, "rack", max_depth=2)
    assert grades(report) == {"rack": "down", "srv": "down", "vm": "down"}
    assert report.truncated and report.truncated_by == (Truncation.MAX_DEPTH,)
    full = impact(chain, "rack", max_depth=5)
    assert not full.truncated and len(full.impacted) == 6


def test_min_confidence_for_traffic_edges() -> None:
    g = Graph().ci("app", "application").ci("db", "database").ci("cache", "software_instance")
    g.rel("app", "DEPENDS_ON", "db", method="traffic", confidence=0.4)
    g.rel("app", "DEPENDS_ON", "cache", method="declared", confidence=0.1)
    assert grades(impact(g, "db")) == {"db": "down", "app": "down"}
    assert grades(impact(g, "db", min_confidence=0.4)) == {"db": "down", "app": "down"}
    assert grades(impact(g, "db", min_confidence=0.5)) == {"db": "down"}
    # Only traffic/inferred edges are filtered by confidence.
    assert grades(impact(g, "cache", min_confidence=0.9)) == {"cache": "down", "app": "down"}


def test_only_active_relationships_count() -> None:
    g = Graph().ci("app", "application").ci("a", "software_instance").ci("b", "software_instance")
    g.rel("app", "DEPENDS_ON", "a", status="stale").rel("app", "DEPENDS_ON", "b", status="retired")
    assert grades(impact(g, "a")) == {"a": "down"}
    assert grades(impact(g, "b")) == {"b": "down"}


def test_a_relationship_retired_after_the_view_was_built_stops_propagating() -> None:
    """The index masks it in its overlay (the base arrays still hold it): neither path may follow it."""
    g = Graph().ci("rack", "rack").ci("s1", "physical_server").ci("s2", "physical_server").ci("s3", "physical_server")
    g.ci("app", "application")
    g.rel("rack", "CONTAINS", "s1").rel("rack", "CONTAINS", "s2").rel("rack", "CONTAINS", "s3")
    g.rel("app", "HOSTED_ON", "rack")
    index = g.index()
    service = ImpactService(index, g.schema)
    assert grades(service.impact(ImpactRequest(("rack",)))) == {
        "rack": "down", "s1": "down", "s2": "down", "s3": "down", "app": "down"}
    # s1 (a CONTAINS edge, stored in propagation order) and app (HOSTED_ON, stored against it) are cut off.
    index.apply_rows([], [EdgeRow("rack", "CONTAINS", "s1", "declared", 1.0, "retired"),
                          EdgeRow("app", "HOSTED_ON", "rack", "declared", 1.0, "retired")])
    assert int(index.view().overlay.masked.shape[0]) == 2
    assert grades(service.impact(ImpactRequest(("rack",)))) == {"rack": "down", "s2": "down", "s3": "down"}


def test_each_input_of_each_ci_counts_apart() -> None:
    """pool needs 1 of {x, a}; a needs x; b needs x: no two of these inputs may merge into one."""
    g = Graph().ci("x", "virtual_machine").ci("pool", "cluster", min_up="1").ci("a", "application")
    g.ci("b", "application")
    g.rel("pool", "HAS_MEMBER", "x").rel("pool", "HAS_MEMBER", "a").rel("a", "DEPENDS_ON", "x").rel("b", "DEPENDS_ON", "x")
    report = impact(g, "x")
    assert grades(report) == {"x": "down", "pool": "down", "a": "down", "b": "down"}
    by = report.by_uid()
    assert by["pool"].explanation == "0 of 2 up, min_up 1 -> down"
    assert (by["a"].explanation, by["b"].explanation) == ("input x down (DEPENDS_ON) -> down",
                                                          "input x down (DEPENDS_ON) -> down")


def test_a_member_linked_to_its_pool_twice_counts_once() -> None:
    g = Graph().ci("pool", "cluster", min_up="1").ci("m1", "virtual_machine").ci("m2", "virtual_machine")
    g.rel("pool", "HAS_MEMBER", "m1").rel("pool", "ROUTES_TO", "m1").rel("pool", "HAS_MEMBER", "m2")
    report = impact(g, "m1")
    assert grades(report) == {"m1": "down", "pool": "degraded"}
    assert report.by_uid()["pool"].explanation == "1 of 2 up, min_up 1 -> degraded"


def test_a_down_ci_is_explained_along_its_shortest_causal_chain() -> None:
    # r -> m -> t (2 hops) and r -> p -> q -> t (3 hops): t is explained through m.
    g = Graph()
    for uid in ("r", "m", "p", "q", "t"):
        g.ci(uid, "application")
    g.rel("m", "DEPENDS_ON", "r").rel("t", "DEPENDS_ON", "m")
    g.rel("p", "DEPENDS_ON", "r").rel("q", "DEPENDS_ON", "p").rel("t", "DEPENDS_ON", "q")
    t = impact(g, "r").by_uid()["t"]
    assert ([s.uid for s in t.path], t.depth, t.explanation) == (["r", "m", "t"], 2, "input m down (DEPENDS_ON) -> down")


def test_links_and_addresses_carry_no_impact() -> None:
    # A physical link is connectivity, not propagation: its far end is not taken down
    # (the network layer grades what loses its paths to the uplinks; these ports have none).
    g = Graph().ci("i1", "interface").ci("i2", "interface").ci("ip", "ip_address")
    g.rel("i1", "CONNECTS_TO", "i2").rel("i1", "HAS_ADDRESS", "ip")
    assert grades(impact(g, "i1")) == {"i1": "down"}
    assert grades(impact(g, "i2")) == {"i2": "down"}
    assert grades(impact(g, "ip")) == {"ip": "down"}


def test_rel_types_filter(three_tier: Graph) -> None:
    report = impact(three_tier, "dbhost", rel_types=("RUNS_ON",))
    assert grades(report) == {"dbhost": "down", "db": "down"}
    with pytest.raises(UnknownRelationshipType):
        impact(three_tier, "dbhost", rel_types=("NOPE",))


def test_unknown_and_invalid_requests(three_tier: Graph) -> None:
    with pytest.raises(UnknownCI) as err:
        impact(three_tier, "ghost", "web1")
    assert err.value.uids == ["ghost"]
    with pytest.raises(InvalidRequest):
        impact(three_tier)
    with pytest.raises(InvalidRequest):
        impact(three_tier, "web1", max_depth=-1)


def test_errors_name_every_unknown_ci_and_type_sorted(three_tier: Graph) -> None:
    with pytest.raises(UnknownCI) as err:
        impact(three_tier, "ghost2", "ghost1", "web1")
    assert (str(err.value), err.value.uids) == ("unknown CI(s): ghost1, ghost2", ["ghost1", "ghost2"])
    with pytest.raises(UnknownRelationshipType) as bad:
        impact(three_tier, "dbhost", rel_types=("NOPE", "ALSO_NOPE"))
    assert (str(bad.value), bad.value.names) == ("unknown relationship type(s): ALSO_NOPE, NOPE",
                                                 ["ALSO_NOPE", "NOPE"])


def test_an_explanation_path_names_each_ci_and_the_stored_relationship_it_crossed() -> None:
    """Each step: the CI's uid, name and class, and the relationship as stored (source, type, target),
    whichever way impact crossed it (CONTAINS forwards, RUNS_ON and DEPENDS_ON backwards)."""
    g = (Graph().ci("chassis", "physical_server", name="Chassis 7")
         .ci("dbhost", "physical_server", name="DB host").ci("db", "database", name="Orders DB")
         .ci("app", "application", name="Orders")
         .rel("chassis", "CONTAINS", "dbhost").rel("db", "RUNS_ON", "dbhost").rel("app", "DEPENDS_ON", "db"))
    (app,) = [c for c in impact(g, "chassis").impacted if c.uid == "app"]
    assert [(s.uid, s.name, s.ci_class, s.rel_type, s.rel_source, s.rel_target) for s in app.path] == [
        ("chassis", "Chassis 7", "physical_server", None, None, None),
        ("dbhost", "DB host", "physical_server", "CONTAINS", "chassis", "dbhost"),
        ("db", "Orders DB", "database", "RUNS_ON", "db", "dbhost"),
        ("app", "Orders", "application", "DEPENDS_ON", "app", "db"),
    ]


def test_a_group_input_below_the_confidence_threshold_is_not_counted_in_the_grade() -> None:
    """A cluster (min_up 1) over a declared member ``a`` and a traffic-inferred member ``b`` (0.4): with ``a``
    down, counting ``b`` leaves 1 of 2 up (degraded); above ``b``'s confidence the group is ``a`` alone, 0 of 1
    up (down). The same threshold applies to the edges that grade as to those that reach."""
    g = (Graph().ci("a", "virtual_machine").ci("b", "virtual_machine").ci("c", "cluster")
         .rel("c", "HAS_MEMBER", "a").rel("c", "HAS_MEMBER", "b", method="traffic", confidence=0.4))
    assert grades(impact(g, "a", min_confidence=0.3)) == {"a": "down", "c": "degraded"}
    assert grades(impact(g, "a", min_confidence=0.8)) == {"a": "down", "c": "down"}


def test_a_ci_without_a_name_is_shown_by_its_uid(chain: Graph) -> None:
    chain.nodes["vm"] = chain.nodes["vm"]._replace(name=None)  # as the store holds a CI no source named
    report = impact(chain, "srv")
    assert {(ci.uid, ci.name) for ci in report.impacted} == {
        ("srv", "srv"), ("vm", "vm"), ("proc", "proc"), ("app", "app"), ("bs", "bs")}
    proc = next(ci for ci in report.impacted if ci.uid == "proc")
    assert [(s.uid, s.name) for s in proc.path] == [("srv", "srv"), ("vm", "vm"), ("proc", "proc")]
