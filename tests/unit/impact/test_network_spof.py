"""Network single points of failure, hand-checked: articulation points and bridges with what each cuts off."""

from __future__ import annotations

from cmdb.impact import ImpactService, NetworkLinkSpof, NetworkSpof
from tests.unit.impact.net_graphs import Net
from tests.unit.impact.test_network_golden import lag, three_tier, two_tier


def spofs(g: Net, uid: str) -> tuple[set[tuple[str, frozenset[str]]], set[tuple[str, str, frozenset[str]]]]:
    report = ImpactService(g.index(), g.schema).network_single_points_of_failure(uid)
    devices = {(d.uid, frozenset(d.cuts_off)) for d in report.devices}
    links = {(lk.a_port or lk.a_uid, lk.b_port or lk.b_uid, frozenset(lk.cuts_off)) for lk in report.links}
    assert all(isinstance(d, NetworkSpof) for d in report.devices)
    assert all(isinstance(lk, NetworkLinkSpof) for lk in report.links)
    return devices, links


def test_two_tier_site() -> None:
    devices, links = spofs(two_tier(), "acc1")
    # The only uplink and the core carry everything; acc1 is h1's only switch (h2 keeps acc2).
    assert devices == {
        ("rtr", frozenset({"core", "acc1", "acc2", "h1", "h2"})),
        ("core", frozenset({"acc1", "acc2", "h1", "h2"})),
        ("acc1", frozenset({"h1"})),
    }
    assert links == {
        ("core/p1", "rtr/p1", frozenset({"core", "acc1", "acc2", "h1", "h2"})),
        ("acc1/p1", "core/p2", frozenset({"acc1", "h1"})),
        ("acc2/p1", "core/p3", frozenset({"acc2"})),
        ("acc1/p2", "h1/eth0", frozenset({"h1"})),
    }


def test_three_tier_redundant_cores_leave_only_the_single_homed_parts() -> None:
    devices, links = spofs(three_tier(), "core1")
    assert devices == {
        ("rtr", frozenset({"core1", "core2", "dist1", "dist2", "acc1", "acc2", "h1", "h2"})),
        ("dist1", frozenset({"acc1", "h1"})), ("dist2", frozenset({"acc2", "h2"})),
        ("acc1", frozenset({"h1"})), ("acc2", frozenset({"h2"})),
    }
    assert {(a, b) for a, b, _ in links} == {
        ("acc1/up", "dist1/acc1"), ("acc2/up", "dist2/acc2"), ("acc1/h1", "h1/eth0"), ("acc2/h2", "h2/eth0"),
    }


def test_lag_members_are_not_bridges_and_a_service_sees_its_hosts_only() -> None:
    devices, links = spofs(lag(), "svc")
    assert devices == {("rtr", frozenset({"h"})), ("dist", frozenset({"h"})), ("acc", frozenset({"h"}))}
    assert links == {("dist/up", "rtr/p1", frozenset({"h"})), ("acc/h", "h/eth0", frozenset({"h"}))}
