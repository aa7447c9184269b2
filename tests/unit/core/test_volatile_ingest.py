"""Volatile attributes are current values without history; set-valued link attributes
are the union of what was reported (issue 25 item 3)."""

from __future__ import annotations

from cmdb.ingest import union_set_attributes
from cmdb.model import Action
from tests.builders import T0, Harness, obs, ref, rel


def test_a_volatile_change_is_stored_with_its_time_but_writes_no_history(harness: Harness) -> None:
    first, _ = harness.run([obs("host", {"fqdn": "h1.example"}, {"uptime_s": 100, "kernel": "6.1"}, source="ssh")],
                           source="ssh")
    harness.clock.advance(60_000)
    second, report = harness.run([obs("host", {"fqdn": "h1.example"}, {"uptime_s": 160, "kernel": "6.1"},
                                      source="ssh", at=T0 + 60_000)], source="ssh")
    ci = harness.find("host", fqdn="h1.example")
    assert (ci.attributes["uptime_s"], ci.provenance["uptime_s"].observed_at) == (160, T0 + 60_000)
    assert [h for h in harness.all_history() if h.run_id == second.run_id] == []
    assert (report.updated, report.unchanged) == (0, 1)

    # A real change beside a volatile one: the history holds the real change alone.
    third, report = harness.run([obs("host", {"fqdn": "h1.example"}, {"uptime_s": 5, "kernel": "6.2"},
                                     source="ssh", at=T0 + 120_000)], source="ssh")
    assert [(h.action, h.changes) for h in harness.all_history() if h.run_id == third.run_id] == [
        (Action.UPDATE, {"kernel": ["6.1", "6.2"]})]
    assert harness.find("host", fqdn="h1.example").attributes["uptime_s"] == 5
    assert report.updated == 1
    # The creation records the first value, as every created attribute.
    created = [h.changes for h in harness.all_history() if h.run_id == first.run_id and h.action is Action.CREATE]
    assert created[0]["uptime_s"] == [None, 100]


def test_two_ends_reporting_a_link_differently_make_a_set_that_never_flaps(harness: Harness) -> None:
    a = obs("switch", {"sys_name": "a"}, source="snmp")
    b = obs("switch", {"sys_name": "b"}, source="snmp")
    ra, rb = ref("switch", sys_name="a"), ref("switch", sys_name="b")

    def scan() -> list[object]:
        return [a, b, rel("CONNECTS_TO", ra, rb, source="snmp", attrs={"protocol": "lldp"}),
                rel("CONNECTS_TO", ra, rb, source="snmp", attrs={"protocol": "cdp"})]

    harness.run(scan(), source="snmp")  # type: ignore[arg-type]
    (link,) = [r for r in harness.all_rels() if r.type == "CONNECTS_TO"]
    assert link.attributes == {"protocol": ["cdp", "lldp"]}
    for _ in range(2):
        run, _ = harness.run(scan(), source="snmp")  # type: ignore[arg-type]
        assert [h for h in harness.all_history() if h.run_id == run.run_id] == []
    # One end alone still reports: the set keeps what was reported.
    run, _ = harness.run([a, b, rel("CONNECTS_TO", ra, rb, source="snmp", attrs={"protocol": "lldp"})], source="snmp")
    assert [h for h in harness.all_history() if h.run_id == run.run_id] == []
    (link,) = [r for r in harness.all_rels() if r.type == "CONNECTS_TO"]
    assert link.attributes == {"protocol": ["cdp", "lldp"]}


def test_union_of_set_attributes_leaves_other_attributes_alone() -> None:
    held = {"protocol": "lldp", "speed": 1}
    assert union_set_attributes({"protocol": ["cdp"], "speed": 10}, frozenset({"protocol"}), held) == {
        "protocol": ["cdp", "lldp"], "speed": 10}
    assert union_set_attributes({"speed": 10}, frozenset({"protocol"}), held) == {"speed": 10}
