"""Two real recordings that are the two ends of one real link, served by snmpsim and scanned
together into a real store: the Cisco Nexus 5548 (``cisco-n5000``) sends nothing special,
the HPE ProCurve (``hpe-procurve-516733-b21``) sends its port as a local number (``17``).

Only 127.0.0.1 and 127.0.0.22 are scanned; the crawl range is 127.0.0.0/8, so no neighbour
address read from the recordings (real, third-party) is ever contacted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cmdb.model import RunStatus
from discovery.snmp.client import ClientOptions, Endpoint
from tests.builders import Harness
from tests.integration.snmp.agents import community
from tests.integration.snmp.conftest import RECORDINGS_SECOND_ADDRESS
from tests.integration.snmp.scan import FAST, Graph, scan

NEXUS, PROCURVE = "cisco-n5000", "hpe-procurve-516733-b21"


def targets(agent: Endpoint) -> dict[str, Any]:
    return {"scope": "pair", "port": agent.port,
            "targets": [{"seeds": [agent.host], "credentials": [NEXUS]},
                        {"seeds": [RECORDINGS_SECOND_ADDRESS], "credentials": [PROCURVE]}],
            "crawl": {"enabled": True, "ranges": ["127.0.0.0/8"], "credentials": [NEXUS]}}


def credentials() -> dict[str, Any]:
    return {NEXUS: community(NEXUS), PROCURVE: community(PROCURVE)}


def test_one_physical_link_is_one_interface_edge_and_one_device_edge(harness: Harness, recordings_agent: Endpoint) -> None:
    done = scan(harness, targets(recordings_agent), credentials())
    assert [(o.address, o.status) for o in done.summary.outcomes] == [
        (str(recordings_agent), "ok"), (f"{RECORDINGS_SECOND_ADDRESS}:{recordings_agent.port}", "ok")]
    assert done.status is RunStatus.COMPLETE, done.errors
    graph = Graph(harness)
    nexus, procurve = graph.device_uid("dumsys-52"), graph.device_uid("dumsys-64")
    between = [r for r in graph.rels if r.type == "CONNECTS_TO"
               and {graph.cis[r.source_uid].parent_uid or r.source_uid,
                    graph.cis[r.target_uid].parent_uid or r.target_uid} == {nexus, procurve}]
    # The Nexus reported it by LLDP (port id "17", joined through the ProCurve's lldpLocPortTable),
    # the ProCurve by CDP (the Nexus known by the serial in its device id): one edge of each kind.
    assert sorted((graph.cis[r.source_uid].attributes.get("name"), graph.cis[r.target_uid].attributes.get("name"),
                   sorted(r.attributes["protocol"])) for r in between) == [
        ("DUMSYS-52", "DUMSYS-64", ["cdp", "lldp"]), ("Ethernet1/19", "17", ["cdp", "lldp"])]
    # the ProCurve's port 17 is its own interface, with its own ifIndex, not a heard-of copy
    port = [c for c in graph.cis.values() if c.ci_class == "interface" and c.parent_uid == procurve
            and c.attributes["name"] == "17"]
    assert [c.attributes.get("if_index") for c in port] == [17]


def test_a_table_over_its_row_cap_makes_that_device_partial_and_the_run_still_complete(
        harness: Harness, recordings_agent: Endpoint) -> None:
    capped = dataclasses.replace(FAST, client=dataclasses.replace(FAST.client, max_rows=100))
    assert isinstance(capped.client, ClientOptions)
    done = scan(harness, targets(recordings_agent), credentials(), capped)
    second = f"{RECORDINGS_SECOND_ADDRESS}:{recordings_agent.port}"
    cap = "row cap 100 reached, rest dropped"
    assert [(o.address, o.status, o.dropped, o.failures) for o in done.summary.outcomes] == [
        (str(recordings_agent), "partial", 2, 0), (second, "partial", 2, 0)]
    reasons = {o.address: o.reason for o in done.summary.outcomes}
    assert reasons == {
        str(recordings_agent): f"ipNetToMediaTable: {cap}; ipNetToPhysicalTable: {cap}",
        second: f"dot1dTpFdbTable: {cap}; dot1qTpFdbTable: {cap}",
    }
    # Only those tables are partial: the run is complete (its scope can age) and says what was cut.
    assert done.status is RunStatus.COMPLETE
    assert sorted(done.errors) == sorted(f"{a}: {r}" for a, r in reasons.items())
    assert done.summary.stats()["dropped"] == 4


def test_each_nexus_is_one_ci_whatever_chassis_ids_its_neighbours_saw(harness: Harness, recordings_agent: Endpoint) -> None:
    # The ProCurve sees the Nexus 5548-01 by LLDP under its port's MAC (8c:60:4f:19:16:3a) and under
    # "NWPU-CA-5548-01(SSI183706KP)", and by CDP under that MAC and that serial; the Nexus sees its
    # peer 5548-02 by LLDP under three port MACs and by CDP under one serial. One CI each.
    done = scan(harness, targets(recordings_agent), credentials())
    assert done.status is RunStatus.COMPLETE, done.errors
    graph = Graph(harness)
    nexus_like = {(c.ci_class, c.attributes.get("serial_number"), c.attributes.get("chassis_id"))
                  for c in graph.cis.values() if graph.schema.is_a(c.ci_class, "device")
                  and ("5548" in str(c.attributes.get("name")) or c.attributes.get("sys_name") == "dumsys-52"
                       or str(c.attributes.get("chassis_id", "")).startswith(("8c:60:4f:19:16", "8c:60:4f:19:1b")))}
    assert nexus_like == {("switch", "SSI183706KP", "8c:60:4f:19:16:7c"), ("network_device", "SSI183706KA", None)}
