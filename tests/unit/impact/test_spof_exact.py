"""Single points of failure in detail: what each one reports, filters, and the simulation's edge cases.

Hand-checked graphs; each test names the behaviour it pins (several were written against
mutants that survived ``test_paths_spof.py``: see docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

import pytest

from cmdb.impact.models import PathStep, SpofCI, SpofReport, Truncation
from tests.unit.impact.impact_graphs import Graph


def test_a_spof_reports_its_class_name_depth_and_each_stored_relationship_of_its_path() -> None:
    # svc -DEPENDS_ON-> app -RUNS_ON-> host: the host's loss takes the application, then the service.
    g = Graph().ci("svc", "business_service", name="Shop").ci("app", "software_instance", name="shop-api")
    g.ci("host", "physical_server", name="rack4-srv2")
    g.rel("svc", "DEPENDS_ON", "app").rel("app", "RUNS_ON", "host")
    report = g.service().single_points_of_failure("svc")
    app_path = [
        PathStep("app", "shop-api", "software_instance"),
        PathStep("svc", "Shop", "business_service", "DEPENDS_ON", "svc", "app"),
    ]
    host_path = [
        PathStep("host", "rack4-srv2", "physical_server"),
        # Propagation runs host -> app; the stored relationship is app -RUNS_ON-> host.
        PathStep("app", "shop-api", "software_instance", "RUNS_ON", "app", "host"),
        PathStep("svc", "Shop", "business_service", "DEPENDS_ON", "svc", "app"),
    ]
    assert report == SpofReport("svc", [
        SpofCI("app", "software_instance", "shop-api", 1, app_path),
        SpofCI("host", "physical_server", "rack4-srv2", 2, host_path),
    ], 2, False, ())


def test_spofs_are_looked_for_among_max_nodes_dependencies_and_the_report_says_when_it_stopped() -> None:
    g = Graph().ci("svc", "business_service").ci("app", "software_instance").ci("host", "physical_server")
    g.rel("svc", "DEPENDS_ON", "app").rel("app", "RUNS_ON", "host")
    engine = g.service()
    whole = engine.single_points_of_failure("svc", max_nodes=2)
    assert ([s.uid for s in whole.spofs], whole.considered, whole.truncated, whole.truncated_by) == (
        ["app", "host"], 2, False, ())
    cut = engine.single_points_of_failure("svc", max_nodes=1)
    assert ([s.uid for s in cut.spofs], cut.considered, cut.truncated, cut.truncated_by) == (
        ["app"], 1, True, (Truncation.MAX_NODES,))


def pair_on_two_hosts(**edge: float) -> Graph:
    """svc needs a pair (min_up 1) of x and y; x is hosted on h, y on h through ``edge``'s relationship."""
    g = Graph().ci("svc", "business_service").ci("pair", "cluster", min_up="1")
    g.ci("x", "virtual_machine").ci("y", "virtual_machine").ci("h", "physical_server")
    g.rel("svc", "DEPENDS_ON", "pair").rel("pair", "HAS_MEMBER", "x").rel("pair", "HAS_MEMBER", "y")
    g.rel("x", "HOSTED_ON", "h")
    return g


def test_a_relationship_below_the_minimum_confidence_does_not_make_a_spof() -> None:
    g = pair_on_two_hosts()
    g.rel("y", "HOSTED_ON", "h", method="inferred", confidence=0.3)
    assert {s.uid for s in g.service().single_points_of_failure("svc").spofs} == {"pair", "h"}
    # Without the weak relationship y survives h: the pair keeps one member up.
    spofs = g.service().single_points_of_failure("svc", min_confidence=0.5).spofs
    assert {s.uid for s in spofs} == {"pair"}


def test_a_relationship_of_a_type_left_out_does_not_make_a_spof() -> None:
    g = pair_on_two_hosts()
    g.rel("y", "RUNS_ON", "h")
    assert {s.uid for s in g.service().single_points_of_failure("svc").spofs} == {"pair", "h"}
    spofs = g.service().single_points_of_failure(
        "svc", rel_types=("DEPENDS_ON", "HAS_MEMBER", "HOSTED_ON")).spofs
    assert {s.uid for s in spofs} == {"pair"}


@pytest.mark.parametrize("first", ["DEPENDS_ON", "HAS_MEMBER"])
def test_a_plain_dependency_beside_a_membership_makes_the_member_a_spof(first: str) -> None:
    # pair needs one of x and y, but also depends on x outright: x alone takes the pair down,
    # whichever of the two relationships comes first.
    second = "HAS_MEMBER" if first == "DEPENDS_ON" else "DEPENDS_ON"
    g = Graph().ci("svc", "business_service").ci("pair", "cluster", min_up="1")
    g.ci("x", "virtual_machine").ci("y", "virtual_machine")
    g.rel("svc", "DEPENDS_ON", "pair").rel("pair", first, "x").rel("pair", second, "x").rel("pair", "HAS_MEMBER", "y")
    report = g.service().single_points_of_failure("svc")
    assert {s.uid for s in report.spofs} == {"pair", "x"}
    x = next(s for s in report.spofs if s.uid == "x")
    assert [(s.uid, s.rel_type) for s in x.path] == [("x", None), ("pair", "DEPENDS_ON"), ("svc", "DEPENDS_ON")]


def pool_of(g: Graph, *members: str) -> Graph:
    """The service needs ``pool`` (a cluster, min_up 1) of ``members`` and a spare ``y``: losing one member is tolerated."""
    g.ci("pool", "cluster", min_up="1").ci("y", "virtual_machine").rel("svc", "DEPENDS_ON", "pool")
    for member in (*members, "y"):
        g.rel("pool", "HAS_MEMBER", member)
    return g


@pytest.mark.parametrize("order", [("g", "x"), ("x", "g")])
def test_the_simulation_goes_on_past_a_ci_already_down(order: tuple[str, ...]) -> None:
    # The service needs g (one of u1, u2) and q (one of x, z2); x needs one of u1, z.
    # p hosts u1 and u2, and x depends on p outright. No single one of u1, u2, x is a
    # single point of failure, but p is: it takes both members of g. From u1 the look meets
    # x, already down by p: it must go on to u1's other dependent, g.
    g = Graph().ci("svc", "business_service").ci("p", "physical_server").ci("q", "cluster", min_up="1")
    for uid in order:
        g.ci(uid, "cluster", min_up="1")
    for uid in ("u1", "u2", "z", "z2"):
        g.ci(uid, "virtual_machine")
    g.rel("svc", "DEPENDS_ON", "g").rel("svc", "DEPENDS_ON", "q").rel("q", "HAS_MEMBER", "x").rel("q", "HAS_MEMBER", "z2")
    members = {"g": ("u1", "u2"), "x": ("u1", "z")}
    for uid in order:
        for member in members[uid]:
            g.rel(uid, "HAS_MEMBER", member)
    g.rel("u1", "RUNS_ON", "p").rel("u2", "RUNS_ON", "p").rel("x", "DEPENDS_ON", "p")
    report = g.service().single_points_of_failure("svc")
    assert {s.uid for s in report.spofs} == {"g", "q", "p"}
    p = next(s for s in report.spofs if s.uid == "p")
    assert [s.uid for s in p.path] == ["p", "u2", "g", "svc"]


@pytest.mark.parametrize("order", [("pool", "c"), ("c", "pool")])
def test_the_simulation_goes_on_past_a_group_that_tolerates_the_loss(order: tuple[str, ...]) -> None:
    # x is a member of the pool (y still up) and a dependency of c, which the service needs:
    # the pool tolerating x's loss must not end the look at x's other dependents.
    g = Graph().ci("svc", "business_service").ci("x", "virtual_machine")
    if order[0] == "pool":
        pool_of(g, "x").ci("c", "software_instance").rel("c", "DEPENDS_ON", "x")
    else:
        g.ci("c", "software_instance").rel("c", "DEPENDS_ON", "x")
        pool_of(g, "x")
    g.rel("svc", "DEPENDS_ON", "c")
    report = g.service().single_points_of_failure("svc")
    assert {s.uid for s in report.spofs} == {"pool", "c", "x"}
    x = next(s for s in report.spofs if s.uid == "x")
    assert [s.uid for s in x.path] == ["x", "c", "svc"]
