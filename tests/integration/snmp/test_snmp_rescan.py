"""A rescan of an unchanged lab writes no history (issue 25 item 3): volatile values are
current values only, and a link's protocol is the set both ends report, never a flapping value."""

from __future__ import annotations

from typing import Any

from tests.builders import Harness
from tests.integration.snmp.agents import community
from tests.integration.snmp.conftest import Lab
from tests.integration.snmp.scan import Graph, scan, seeds

CREDS = {"lab": community()}


def crawl_from_core(lab: Lab) -> dict[str, Any]:
    """The demo's network job: seeded with core1, crawling LLDP/CDP neighbours on loopback."""
    return seeds([lab.addresses["core1"]], lab.port,
                 crawl={"enabled": True, "ranges": ["127.0.0.0/24"], "max_depth": 4, "credentials": ["lab"]})


def history_of(harness: Harness, run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(h.subject_kind, h.action.value, h.changes) for h in harness.all_history() if h.run_id == run_id]


def test_two_complete_crawls_write_no_history_the_second_time(lab: Lab, harness: Harness) -> None:
    first = scan(harness, crawl_from_core(lab), CREDS)
    assert first.status.value == "complete", first.errors
    assert [h for r in first.runs for h in history_of(harness, r.run_id)]  # the first scan created the estate
    harness.clock.advance(60_000)
    second = scan(harness, crawl_from_core(lab), CREDS)
    assert second.status.value == "complete", second.errors
    assert [h for r in second.runs for h in history_of(harness, r.run_id)] == []
    # Every device-to-device and port-to-port link whose two ends both speak LLDP and CDP
    # carries both protocols, as a sorted list.
    graph = Graph(harness)
    protocols = {tuple(r.attributes["protocol"]) for r in graph.rels if r.type == "CONNECTS_TO"}
    assert protocols <= {("cdp", "lldp"), ("lldp",), ("cdp",)}
    assert ("cdp", "lldp") in protocols
