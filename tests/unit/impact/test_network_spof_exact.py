"""Network single points of failure reported whole: every field of each device and link, the
links a service sees, and the bound on the site's size at its value.

Several were written against mutants that survived ``test_network_spof.py`` (docs/testing.md,
"Mutation testing").
"""

from __future__ import annotations

import pytest

from cmdb.impact import ImpactService, NetworkLinkSpof, NetworkSpof, NetworkSpofReport
from tests.unit.impact.net_graphs import Net
from tests.unit.impact.test_network_golden import two_tier

FORWARD_DEVICES = [
    NetworkSpof("rtr", "router", "rtr", ["core", "acc1", "acc3"]),
    NetworkSpof("core", "switch", "core", ["acc1", "acc3"]),
    NetworkSpof("acc1", "switch", "acc1", ["acc3"]),
]
FORWARD_LINKS = [
    NetworkLinkSpof("core", "rtr", "core/p1", "rtr/p1", "CONNECTS_TO", ["core", "acc1", "acc3"]),
    NetworkLinkSpof("acc1", "core", "acc1/p1", "core/p2", "CONNECTS_TO", ["acc1", "acc3"]),
    NetworkLinkSpof("acc1", "acc3", None, None, "CONNECTS_TO", ["acc3"]),
]
# Declared the other way round, the same report in the network's (declaration) order.
BACKWARD_DEVICES = [
    NetworkSpof("acc1", "switch", "acc1", ["acc3"]),
    NetworkSpof("core", "switch", "core", ["acc3", "acc1"]),
    NetworkSpof("rtr", "router", "rtr", ["acc3", "acc1", "core"]),
]
BACKWARD_LINKS = [
    NetworkLinkSpof("acc1", "acc3", None, None, "CONNECTS_TO", ["acc3"]),
    NetworkLinkSpof("acc1", "core", "acc1/p1", "core/p2", "CONNECTS_TO", ["acc3", "acc1"]),
    NetworkLinkSpof("core", "rtr", "core/p1", "rtr/p1", "CONNECTS_TO", ["acc3", "acc1", "core"]),
]


@pytest.mark.parametrize(("first_port", "devices", "expected_devices", "expected_links"), [
    ("core/p1", ("rtr", "core", "acc1", "acc3"), FORWARD_DEVICES, FORWARD_LINKS),
    ("rtr/p1", ("acc3", "acc1", "core", "rtr"), BACKWARD_DEVICES, BACKWARD_LINKS),
])
def test_each_device_and_link_is_reported_with_its_class_name_ends_ports_and_type(
        first_port: str, devices: tuple[str, ...], expected_devices: list[NetworkSpof],
        expected_links: list[NetworkLinkSpof]) -> None:
    g = Net()
    # Declared first, so the port is the index's first CI (either end of the link): a port is a
    # port whatever its position.
    device, _, name = first_port.partition("/")
    g.ci(first_port, "interface", name=name).rel(device, "CONTAINS", first_port)
    for uid in devices:
        g.device(uid, "router" if uid == "rtr" else "switch")
    g.cable("rtr", "p1", "core", "p1").cable("core", "p2", "acc1", "p1")
    g.rel("acc1", "CONNECTS_TO", "acc3")  # a link known without its ports
    report = ImpactService(g.index(), g.schema).network_single_points_of_failure("acc1")
    assert report.uid == "acc1"
    assert report.devices == expected_devices
    assert report.links == expected_links
    assert (report.considered, report.truncated) == (4, False)


def test_a_service_sees_each_link_that_cuts_its_host_off_past_links_that_cut_none() -> None:
    # acc2's uplink cuts nothing svc1 needs; h1's own cable, listed after it, does.
    report = ImpactService(two_tier().index(), two_tier().schema).network_single_points_of_failure("svc1")
    assert [(lk.a_port, lk.b_port, lk.cuts_off) for lk in report.links] == [
        ("core/p1", "rtr/p1", ["h1"]), ("acc1/p1", "core/p2", ["h1"]), ("acc1/p2", "h1/eth0", ["h1"]),
    ]
    assert [(d.uid, d.cuts_off) for d in report.devices] == [("rtr", ["h1"]), ("core", ["h1"]), ("acc1", ["h1"])]


def test_the_site_is_examined_up_to_max_nodes_and_says_when_it_stopped() -> None:
    g = two_tier()  # the site of acc1: rtr, core, acc1, acc2, h1, h2
    engine = ImpactService(g.index(), g.schema)
    whole = engine.network_single_points_of_failure("acc1", max_nodes=6)
    assert (whole.considered, whole.truncated) == (6, False) and whole.truncated is False
    cut = engine.network_single_points_of_failure("acc1", max_nodes=5)
    assert (cut.considered, cut.truncated) == (5, True) and cut.truncated is True


def test_the_uplinks_asked_for_replace_the_catalogs() -> None:
    # With core as the uplink, the router hangs off it: core carries everything, rtr nothing.
    g = two_tier()
    report = ImpactService(g.index(), g.schema).network_single_points_of_failure("acc1", uplinks=("core",))
    assert [(d.uid, d.cuts_off) for d in report.devices] == [
        ("core", ["rtr", "acc1", "acc2", "h1", "h2"]), ("acc1", ["h1"])]
    assert [(lk.a_port, lk.b_port, lk.cuts_off) for lk in report.links] == [
        ("core/p1", "rtr/p1", ["rtr"]), ("acc1/p1", "core/p2", ["acc1", "h1"]),
        ("acc2/p1", "core/p3", ["acc2"]), ("acc1/p2", "h1/eth0", ["h1"]),
    ]


def test_a_ci_that_needs_nothing_on_the_network_has_an_empty_report() -> None:
    g = two_tier().ci("batch", "business_service").ci("job", "application").rel("batch", "DEPENDS_ON", "job")
    report = ImpactService(g.index(), g.schema).network_single_points_of_failure("batch")
    assert report == NetworkSpofReport("batch", [], [], 0, False)


def test_a_service_needs_its_hosts_through_relationships_of_any_confidence() -> None:
    g = two_tier().ci("reports", "business_service")
    g.rel("reports", "DEPENDS_ON", "h1-app", method="inferred", confidence=0.6)
    report = ImpactService(g.index(), g.schema).network_single_points_of_failure("reports")
    assert [(d.uid, d.cuts_off) for d in report.devices] == [("rtr", ["h1"]), ("core", ["h1"]), ("acc1", ["h1"])]
