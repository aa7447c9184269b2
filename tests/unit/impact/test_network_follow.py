"""The network layer follows applied changes: a new attachment, a retired one, a new uplink mark."""

from __future__ import annotations

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.store.protocol import EdgeRow
from tests.unit.impact.impact_graphs import grades
from tests.unit.impact.test_network_golden import two_tier


def test_applied_attachments_and_uplink_marks_regrade() -> None:
    g = two_tier()
    second = ("acc2/p2", "SEEN_BEHIND", "ip-h2-eth1")
    row = g.edges.pop(second)
    index = g.index()
    service = ImpactService(index, g.schema)
    # Without its second attachment h2 hangs on acc1 alone.
    assert grades(service.impact(ImpactRequest(("acc1",))))["h2"] == "down"
    index.apply_rows([], [row])
    assert grades(service.impact(ImpactRequest(("acc1",))))["h2"] == "degraded"
    index.apply_rows([], [EdgeRow(*row[:5], "retired")])
    assert grades(service.impact(ImpactRequest(("acc1",))))["h2"] == "down"
    # Marking acc2 the site's uplink: the core's loss no longer cuts acc2 off, and cuts the router off.
    index.apply_rows([g.nodes["acc2"]._replace(uplink=True)], [])
    got = grades(service.impact(ImpactRequest(("core",))))
    assert got["rtr"] == "down" and "acc2" not in got and got["acc1"] == "down"
