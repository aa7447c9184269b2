"""Golden network-impact scenarios, worked out by hand, on both impact paths (each for real).

Every host carries a stack: ``h`` > ``h-sw`` (software) > ``h-app`` (application),
and a business service on top; its NICs ``h/eth0``, ``h/eth1`` are inside it.
"""

from __future__ import annotations

import itertools

import pytest

from cmdb.impact import Grade, GroupState, ImpactedCI, ImpactReport, ImpactRequest, NetworkState
from tests.unit.impact.conftest_net import PATHS, service_on
from tests.unit.impact.net_graphs import Net

D, G = "down", "degraded"


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(path: str, g: Net, mp: pytest.MonkeyPatch, *failed: str, **kw: object) -> ImpactReport:
    return service_on(path, g, mp).impact(ImpactRequest(failed, **kw))  # type: ignore[arg-type]


def graded(report: ImpactReport) -> set[tuple[str, str]]:
    return {(ci.uid, ci.grade.value) for ci in report.impacted}


def stack(host: str, grade: str, nics: tuple[str, ...] = ("eth0",)) -> set[tuple[str, str]]:
    """A host, its software and application; its NICs when it is down (a degraded host lists only the
    NICs that lost their link, given apart)."""
    ports = {(f"{host}/{n}", grade) for n in nics} if grade == D else set()
    return {(host, grade), (f"{host}-sw", grade), (f"{host}-app", grade)} | ports


# -- two tiers: a core and two access switches, one single-homed and one dual-homed host ----------

def two_tier() -> Net:
    g = Net()
    g.device("rtr", "router").device("core").device("acc1").device("acc2")
    g.cable("rtr", "p1", "core", "p1").cable("core", "p2", "acc1", "p1").cable("core", "p3", "acc2", "p1")
    g.host("h1", "svc1").host("h2", "svc2")
    g.seen_behind("acc1", "p2", "h1")
    g.seen_behind("acc1", "p3", "h2", "eth0").seen_behind("acc2", "p2", "h2", "eth1")
    return g


def test_two_tier_access_switch_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, two_tier(), monkeypatch, "acc1")
    assert graded(report) == (
        {("acc1", D), ("acc1/p1", D), ("acc1/p2", D), ("acc1/p3", D)}
        | stack("h1", D) | {("svc1", D)}
        | stack("h2", G, ("eth0", "eth1")) | {("h2/eth0", D), ("svc2", G)}
    )
    by = report.by_uid()
    assert by["h1"].explanation == "lost its last path to the uplinks (via acc1 p2) -> down"
    assert by["h1"].network == NetworkState(links_up=0, links_total=1, paths_left=0, paths_total=1, via="acc1 p2")
    assert by["h2"].explanation == "1 of 2 paths left (lost via acc1 p3) -> degraded"
    assert by["h2"].network == NetworkState(links_up=1, links_total=2, paths_left=1, paths_total=2, via="acc1 p3")
    assert by["h2"].redundancy == GroupState(up=1, size=2, required=1)
    assert [(s.uid, s.rel_type, s.rel_source, s.rel_target) for s in by["svc1"].path] == [
        ("acc1", None, None, None),
        ("h1", "SEEN_BEHIND", "acc1/p2", "ip-h1-eth0"),
        ("h1-sw", "CONTAINS", "h1", "h1-sw"),
        ("h1-app", "RUNS_ON", "h1-app", "h1-sw"),
        ("svc1", "DEPENDS_ON", "svc1", "h1-app"),
    ]
    assert all(ci.depth == len(ci.path) - 1 for ci in report.impacted)
    assert {(s.uid, s.grade) for s in report.services} == {
        ("svc1", Grade.DOWN), ("svc2", Grade.DEGRADED), ("h1-app", Grade.DOWN), ("h2-app", Grade.DEGRADED),
    }


def test_two_tier_core_down_cuts_everything_below(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, two_tier(), monkeypatch, "core")
    assert graded(report) == (
        {("core", D), ("core/p1", D), ("core/p2", D), ("core/p3", D)}
        | {("acc1", D), ("acc2", D)} | {(f"acc1/p{i}", D) for i in (1, 2, 3)} | {(f"acc2/p{i}", D) for i in (1, 2)}
        | stack("h1", D) | stack("h2", D, ("eth0", "eth1")) | {("svc1", D), ("svc2", D)}
    )
    assert report.by_uid()["acc1"].explanation == "lost its last path to the uplinks (via core p2) -> down"


def test_host_down_takes_nothing_else_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Links carry no impact: a server never takes its switch (or the network) with it.
    report = run(path, two_tier(), monkeypatch, "h2")
    assert graded(report) == stack("h2", D, ("eth0", "eth1")) | {("svc2", D)}


# -- three tiers, redundant cores ---------------------------------------------------------------

def three_tier() -> Net:
    g = Net()
    g.device("rtr", "router")
    for sw in ("core1", "core2", "dist1", "dist2", "acc1", "acc2"):
        g.device(sw)
    g.cable("rtr", "p1", "core1", "up").cable("rtr", "p2", "core2", "up").cable("core1", "peer", "core2", "peer")
    for d in ("dist1", "dist2"):
        g.cable("core1", d, d, "c1").cable("core2", d, d, "c2")
    g.cable("dist1", "acc1", "acc1", "up").cable("dist2", "acc2", "acc2", "up")
    g.host("h1", "svc").host("h2", "svc")
    g.seen_behind("acc1", "h1", "h1").seen_behind("acc2", "h2", "h2")
    return g


def test_three_tier_one_core_down_degrades_below(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, three_tier(), monkeypatch, "core1")
    ports = {("core1/up", D), ("core1/peer", D), ("core1/dist1", D), ("core1/dist2", D)}
    assert graded(report) == (
        {("core1", D)} | ports | {("dist1", G), ("dist2", G), ("acc1", G), ("acc2", G)}
        | {("dist1/c1", D), ("dist2/c1", D)}  # the degraded switches' ports cabled to core1
        | stack("h1", G) | stack("h2", G) | {("svc", G)}
    )
    by = report.by_uid()
    assert by["dist1"].explanation == "1 of 2 paths left (lost via core1 dist1) -> degraded"
    assert by["acc1"].network == NetworkState(links_up=1, links_total=1, paths_left=1, paths_total=2,
                                              via="dist1 acc1")
    assert by["acc1"].explanation == "1 of 2 paths left (lost via dist1 acc1) -> degraded"
    assert [s.uid for s in by["svc"].path][:4] == ["core1", "dist1", "acc1", "h1"]


def test_three_tier_both_cores_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, three_tier(), monkeypatch, "core1", "core2")
    cut = {("dist1", D), ("dist2", D), ("acc1", D), ("acc2", D)}
    ports = {(p, D) for p in report.by_uid() if "/" in p and p.split("/")[0] in {
        "core1", "core2", "dist1", "dist2", "acc1", "acc2"}}
    assert len(ports) == 4 + 4 + 3 + 3 + 2 + 2
    assert graded(report) == (
        {("core1", D), ("core2", D)} | cut | ports | stack("h1", D) | stack("h2", D) | {("svc", D)}
    )
    assert "rtr" not in report.by_uid()


def test_three_tier_distribution_switch_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, three_tier(), monkeypatch, "dist1")
    assert graded(report) == (
        {("dist1", D), ("dist1/c1", D), ("dist1/c2", D), ("dist1/acc1", D), ("acc1", D), ("acc1/up", D), ("acc1/h1", D)}
        | stack("h1", D) | {("svc", D)}
    )


# -- a ring --------------------------------------------------------------------------------------

def ring() -> Net:
    """rtr - s1 - s2 - s3 - s4 - s5 - rtr; a host on s3 (two shortest paths: via s2 and via s4)."""
    g = Net().device("rtr", "router")
    names = ["rtr", "s1", "s2", "s3", "s4", "s5", "rtr"]
    for a, b in itertools.pairwise(names):
        if b != "rtr":
            g.device(b)
        g.cable(a, f"to-{b}", b, f"to-{a}")
    g.host("h", "svc").seen_behind("s3", "h", "h")
    return g


def test_ring_one_switch_down_reroutes(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, ring(), monkeypatch, "s1")
    assert graded(report) == (
        {("s1", D), ("s1/to-rtr", D), ("s1/to-s2", D), ("s2", G), ("s2/to-s1", D), ("s3", G)}
        | stack("h", G) | {("svc", G)}
    )
    by = report.by_uid()
    assert by["s2"].explanation == (
        "0 of 1 shortest paths left (lost via s1 to-s2), connected over a longer one -> degraded")
    assert by["s2"].network == NetworkState(0, 1, 0, 1, rerouted=True, via="s1 to-s2")
    assert by["s3"].explanation == "1 of 2 paths left (lost via s2 to-s3) -> degraded"
    assert by["h"].network == NetworkState(1, 1, 1, 2, via="s3 h")


def test_ring_cut_twice_isolates_the_far_side(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, ring(), monkeypatch, "s2", "s4")
    ports = {("s2/to-s1", D), ("s2/to-s3", D), ("s4/to-s3", D), ("s4/to-s5", D)}
    assert graded(report) == {("s2", D), ("s4", D), ("s3", D)} | ports | {("s3/to-s2", D), ("s3/to-s4", D), ("s3/h", D)} \
        | stack("h", D) | {("svc", D)}


# -- a leaf-spine fabric ---------------------------------------------------------------------------

def leaf_spine() -> Net:
    g = Net().device("edge", "router")
    for sw in ("sp1", "sp2", "l1", "l2", "l3"):
        g.device(sw)
    for sp in ("sp1", "sp2"):
        g.cable("edge", sp, sp, "edge")
        for leaf in ("l1", "l2", "l3"):
            g.cable(sp, leaf, leaf, sp)
    g.host("h1", "svc1").host("h2", "svc2")
    g.seen_behind("l1", "h1", "h1", "eth0").seen_behind("l2", "h1", "h1", "eth1").seen_behind("l3", "h2", "h2")
    return g


def test_leaf_spine_spine_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, leaf_spine(), monkeypatch, "sp1")
    ports = {("sp1/edge", D), ("sp1/l1", D), ("sp1/l2", D), ("sp1/l3", D)}
    assert graded(report) == (
        {("sp1", D)} | ports | {("l1", G), ("l2", G), ("l3", G)} | {("l1/sp1", D), ("l2/sp1", D), ("l3/sp1", D)}
        | stack("h1", G, ("eth0", "eth1")) | stack("h2", G) | {("svc1", G), ("svc2", G)}
    )
    by = report.by_uid()
    assert by["h1"].network == NetworkState(2, 2, 2, 4, via="l1 h1")
    assert by["h1"].explanation == "2 of 4 paths left (lost via l1 h1) -> degraded"


def test_leaf_spine_leaf_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, leaf_spine(), monkeypatch, "l1")
    assert graded(report) == (
        {("l1", D), ("l1/sp1", D), ("l1/sp2", D), ("l1/h1", D)} | stack("h1", G, ("eth0", "eth1"))
        | {("h1/eth0", D), ("svc1", G)}
    )
    assert report.by_uid()["h1"].network == NetworkState(1, 2, 2, 4, via="l1 h1")
    report = run(path, leaf_spine(), monkeypatch, "l3")
    assert graded(report) == {("l3", D), ("l3/sp1", D), ("l3/sp2", D), ("l3/h2", D)} | stack("h2", D) | {("svc2", D)}


# -- a LAG with one member down ------------------------------------------------------------------

def lag() -> Net:
    g = Net().device("rtr", "router").device("dist").device("acc")
    g.cable("rtr", "p1", "dist", "up")
    g.cable("dist", "po1-a", "acc", "po1-a").cable("dist", "po1-b", "acc", "po1-b")
    g.host("h", "svc").seen_behind("acc", "h", "h")
    return g


def test_lag_one_member_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, lag(), monkeypatch, "dist/po1-b")
    assert graded(report) == {("dist/po1-b", D), ("acc", G), ("acc/po1-b", D)} | stack("h", G) | {("svc", G)}
    by = report.by_uid()
    assert by["acc"].network == NetworkState(1, 2, 1, 2, via="dist po1-b")
    assert by["acc"].explanation == "1 of 2 paths left (lost via dist po1-b) -> degraded"
    assert by["acc"].redundancy is not None and by["acc"].redundancy.margin == 0


def test_lag_both_members_down(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, lag(), monkeypatch, "dist/po1-a", "acc/po1-b")
    assert graded(report) == (
        {("dist/po1-a", D), ("acc/po1-b", D), ("acc", D), ("acc/po1-a", D), ("acc/h", D)} | stack("h", D) | {("svc", D)}
    )
    assert report.by_uid()["acc"].network == NetworkState(0, 2, 0, 2, via="dist po1-a")


# -- uplinks: the catalog's, per site, and per query ---------------------------------------------

def test_uplink_per_query_and_marked_per_site(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    g = two_tier()
    # acc2 named the only uplink: losing the core cuts the router, acc1 and h1 off from it;
    # h2 keeps its own cable to acc2 (its only shortest path), so it is not impacted.
    report = run(path, g, monkeypatch, "core", uplinks=("acc2",))
    assert graded(report) == (
        {("core", D), ("core/p1", D), ("core/p2", D), ("core/p3", D), ("rtr", D), ("rtr/p1", D)}
        | {("acc1", D), ("acc1/p1", D), ("acc1/p2", D), ("acc1/p3", D)} | stack("h1", D) | {("svc1", D)}
    )
    # A site that marks its own uplink uses exactly it: core marked, the router is just attached.
    g.device("core", uplink=True)
    report = run(path, g, monkeypatch, "rtr")
    assert graded(report) == {("rtr", D), ("rtr/p1", D)}
    g.device("core", uplink=None).device("rtr", "router", uplink=False)
    assert graded(run(path, g, monkeypatch, "acc1")) == {("acc1", D), ("acc1/p1", D), ("acc1/p2", D), ("acc1/p3", D)}


# -- the ports of a degraded CI that lost their link ----------------------------------------------

def campus() -> Net:
    """rtr - core1, core2 - dist; acc on dist by a LAG of two, acc2 by one cable; h's one NIC is
    seen behind acc and acc2, k has a NIC on each."""
    g = Net().device("rtr", "router")
    for sw in ("core1", "core2", "dist", "acc", "acc2"):
        g.device(sw)
    g.cable("rtr", "c1", "core1", "up").cable("rtr", "c2", "core2", "up")
    g.cable("core1", "d", "dist", "c1").cable("core2", "d", "dist", "c2")
    g.cable("dist", "a1", "acc", "a1").cable("dist", "a2", "acc", "a2").cable("dist", "b", "acc2", "up")
    g.host("h", "svc-h").seen_behind("acc", "p1", "h").seen_behind("acc2", "p1", "h")
    g.host("k", "svc-k").seen_behind("acc", "k", "k", "eth0").seen_behind("acc2", "k", "k", "eth1")
    return g


def steps(ci: ImpactedCI) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(s.uid, s.rel_type, s.rel_source, s.rel_target) for s in ci.path]


def test_a_degraded_switch_lists_the_port_cabled_to_the_failed_core(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, campus(), monkeypatch, "core1")
    # dist keeps core2 (1 of 2 paths): its port cabled to core1 lost its link; acc, acc2 and the
    # hosts lose paths but no link, so none of their ports is listed; rtr and core2 keep theirs.
    assert graded(report) == (
        {("core1", D), ("core1/up", D), ("core1/d", D), ("dist", G), ("dist/c1", D), ("acc", G), ("acc2", G)}
        | stack("h", G) | stack("k", G) | {("svc-h", G), ("svc-k", G)}
    )
    port = report.by_uid()["dist/c1"]
    assert port.explanation == "lost its link (to core1 d) -> down"
    assert port.network == NetworkState(links_up=0, links_total=1, paths_left=0, paths_total=1, via="core1 d")
    assert steps(port) == [("core1", None, None, None), ("dist/c1", "CONNECTS_TO", "core1/d", "dist/c1")]
    assert port.depth == 1
    assert report.by_uid()["dist"].network == NetworkState(1, 2, 1, 2, via="core1 d")


def test_a_degraded_host_lists_the_nic_that_lost_its_only_link(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, campus(), monkeypatch, "acc")
    # h's one NIC is still seen behind acc2: not listed. k's eth0 hung on acc alone: down.
    assert graded(report) == (
        {("acc", D), ("acc/a1", D), ("acc/a2", D), ("acc/p1", D), ("acc/k", D)}
        | stack("h", G) | stack("k", G) | {("k/eth0", D), ("svc-h", G), ("svc-k", G)}
    )
    by = report.by_uid()
    assert by["k"].network == NetworkState(1, 2, 2, 6, via="acc k")
    assert by["h"].network == NetworkState(1, 2, 2, 6, via="acc p1")
    nic = by["k/eth0"]
    assert nic.explanation == "lost its link (to acc k) -> down"
    # Its share of k's shortest paths: the 4 through acc (2 LAG members x dist's 2 cores).
    assert nic.network == NetworkState(0, 1, 0, 4, via="acc k")
    assert steps(nic) == [("acc", None, None, None), ("k/eth0", "SEEN_BEHIND", "acc/k", "ip-k-eth0")]


def test_a_lag_member_lost_lists_the_far_port(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    report = run(path, campus(), monkeypatch, "dist/a1")
    assert graded(report) == (
        {("dist/a1", D), ("acc", G), ("acc/a1", D)} | stack("h", G) | stack("k", G) | {("svc-h", G), ("svc-k", G)}
    )
    by = report.by_uid()
    assert by["acc"].network == NetworkState(1, 2, 2, 4, via="dist a1")
    assert by["acc/a1"].explanation == "lost its link (to dist a1) -> down"
    assert by["acc/a1"].network == NetworkState(0, 1, 0, 2, via="dist a1")
    assert steps(by["acc/a1"]) == [("dist/a1", None, None, None), ("acc/a1", "CONNECTS_TO", "acc/a1", "dist/a1")]
    assert by["h"].network == NetworkState(2, 2, 4, 6, via="acc p1")
    assert all(ci.depth == len(ci.path) - 1 for ci in report.impacted)
