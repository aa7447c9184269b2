"""Failures mark only their device: the scan finishes, reports them, and applies what was valid."""

from __future__ import annotations

import asyncio

from discovery.snmp import oids
from discovery.snmp.client import ClientOptions, Endpoint, SnmpClient
from discovery.snmp.scanner import ScanOptions
from discovery.snmp.values import Oid, Value
from tests.builders import Harness
from tests.integration.snmp.agents import community, wait_idle
from tests.integration.snmp.conftest import Lab
from tests.integration.snmp.scan import Graph, scan

GARBAGE, SLOW = community("garbage"), community("slow")


def test_unreachable_seed_fails_alone_and_the_rest_is_applied(lab: Lab, harness: Harness) -> None:
    dead = "127.0.0.99"
    targets = {"scope": "lab", "port": lab.port,
               "targets": [{"seeds": [lab.addresses["core1"], dead], "credentials": ["lab"]}]}
    result = scan(harness, targets, {"lab": community()})
    outcomes = {o.address: (o.status, o.reason) for o in result.summary.outcomes}
    assert outcomes[f"{dead}:{lab.port}"] == (
        "failed", "lab: no response before timeout (unreachable, or wrong community/context)")
    assert outcomes[f"{lab.addresses['core1']}:{lab.port}"] == ("ok", None)
    runs = result.by_scope()
    # No memory of answering addresses here: the dead seed's part is unknown, so it is named on the scope's
    # own run (which lists no parts), the links wait for it, and core1's part is complete.
    assert {scope: run.status.value for scope, run in runs.items()} == {
        "lab/core1.lab.example": "complete", "lab:links": "incomplete", "lab": "incomplete"}
    assert runs["lab"].errors == [f"{dead}:{lab.port}: lab: no response before timeout (unreachable, or wrong community/context)"]
    assert runs["lab"].counts.get("parts") is None
    assert ("switch", "core1.lab.example") in Graph(harness).devices()


def test_wrong_community_is_a_clear_per_device_error(lab: Lab, harness: Harness) -> None:
    targets = {"scope": "lab", "port": lab.port, "targets": [
        {"seeds": [lab.addresses["dist1"]], "credentials": ["lab"]},
        {"seeds": [lab.addresses["dist2"]], "credentials": ["wrong"]},
    ]}
    result = scan(harness, targets, {"lab": community(), "wrong": community("not-the-community", name="wrong")})
    outcomes = {o.address.split(":")[0]: (o.status, o.reason) for o in result.summary.outcomes}
    assert outcomes == {
        lab.addresses["dist1"]: ("ok", None),
        lab.addresses["dist2"]: ("failed", "wrong: no response before timeout (unreachable, or wrong community/context)"),
    }
    assert "not-the-community" not in " ".join(result.errors)


def test_non_utf8_strings_and_truncated_tables_are_applied(faulty_agent: Endpoint, harness: Harness) -> None:
    targets = {"scope": "faulty", "port": faulty_agent.port,
               "targets": [{"seeds": [faulty_agent.host], "credentials": ["garbage"]}]}
    result = scan(harness, targets, {"garbage": GARBAGE})
    graph = Graph(harness)
    assert graph.devices() == {("switch", "sw-\\xff-garbage"), ("network_device", "peer\\x80\\xff")}
    assert graph.interfaces() == {("sw-\\xff-garbage", "ge1"), ("sw-\\xff-garbage", "ge\\xc3"),
                                  ("sw-\\xff-garbage", "ge3")}
    device = graph.cis[graph.device_uid("sw-\\xff-garbage")]
    assert device.attributes["sys_descr"] == "Garbage switch \\x80\\x81\\xfe"
    # the truncated ipAddrTable and LLDP rows are dropped and said: the device is partial, its
    # line and the run's problems name the rows, and the run stays complete (everything was read)
    outcome = result.summary.outcomes[0]
    assert (outcome.status, outcome.dropped, outcome.failures) == ("partial", 2, 0)
    reason = ("ipAddrTable row 10.9: unparsable index, dropped; "
              "LLDP neighbour on local port 9: no chassis id or system name, dropped")
    assert outcome.reason == reason
    assert result.status.value == "complete"
    assert result.errors == [f"{faulty_agent}: {reason}"]


def test_device_that_stops_answering_mid_walk_is_partial(faulty_agent: Endpoint, harness: Harness) -> None:
    targets = {"scope": "faulty", "port": faulty_agent.port,
               "targets": [{"seeds": [faulty_agent.host], "credentials": ["slow"]}]}
    result = scan(harness, targets, {"slow": SLOW})
    outcome = result.summary.outcomes[0]
    assert outcome.status == "partial"
    # the LLDP local-port walk runs past its (empty) table into the held remote row
    assert outcome.reason == "lldpLocPortTable: no response before timeout (unreachable, or wrong community/context)"
    assert result.status.value == "incomplete"  # nothing is aged on a partial scope
    graph = Graph(harness)  # what was read before it stopped is applied
    assert graph.devices() == {("switch", "slow.lab.example")}
    assert graph.interfaces() == {("slow.lab.example", "ge1"), ("slow.lab.example", "ge2")}


def test_walk_stops_on_non_increasing_oids(misbehaving_agent: Endpoint) -> None:
    async def walk() -> tuple[dict[Oid, Value], str | None, int]:
        client = SnmpClient(ClientOptions(timeout=1.0, retries=0))
        try:
            session = await client.session(misbehaving_agent, community(), deadline=None)
            result = await session.walk(oids.IF_TABLE.column_oids()[:1])
            return result.values, result.problem, result.requests
        finally:
            client.close()

    values, problem, requests = asyncio.run(walk())
    column = oids.IF_TABLE.column_oids()[0]
    assert values == {(*column, 5): b"row5"}
    assert problem == f"non-increasing OID {'.'.join(map(str, (*column, 3)))} in {'.'.join(map(str, column))}"
    assert requests == 1


def test_scan_of_a_misbehaving_device_finishes(misbehaving_agent: Endpoint, harness: Harness) -> None:
    targets = {"scope": "loop", "port": misbehaving_agent.port,
               "targets": [{"seeds": [misbehaving_agent.host], "credentials": ["lab"]}]}
    result = scan(harness, targets, {"lab": community()})
    outcome = result.summary.outcomes[0]
    assert outcome.status == "partial"
    assert outcome.reason is not None and "non-increasing OID" in outcome.reason
    assert ("switch", "loop.lab.example") in Graph(harness).devices()


def test_per_device_deadline_bounds_a_slow_device(faulty_agent: Endpoint, harness: Harness) -> None:
    targets = {"scope": "faulty", "port": faulty_agent.port,
               "targets": [{"seeds": [faulty_agent.host], "credentials": ["slow"]}]}
    options = ScanOptions(concurrency=4, device_deadline=2.5, client=ClientOptions(timeout=10.0, retries=0))
    wait_idle(faulty_agent, SLOW)  # an earlier test may have left snmpsim inside a delay
    # That the deadline, not the client's 10 s timeout, ended the walk is in the reason below;
    # how long the scan took is bench material, not a test's.
    result = scan(harness, targets, {"slow": SLOW}, options)
    outcome = result.summary.outcomes[0]
    # which table the deadline lands in depends on the machine's speed; that it ends the walk does not
    assert outcome.status == "partial"
    assert outcome.reason is not None and outcome.reason.endswith(": per-device deadline exceeded")
    assert ("switch", "slow.lab.example") in Graph(harness).devices()
