"""Merging by hand and undoing it: the service behind `cmdb merge`/`unmerge` and the GraphQL mutations."""

from __future__ import annotations

import pytest

from cmdb.model import Lifecycle
from cmdb.services.errors import EditRejected
from cmdb.services.merges import Merges
from tests.builders import DAY, Harness, obs, ref, rel


def test_a_merge_moves_dependents_and_edges_and_unmerge_moves_them_back(harness: Harness) -> None:
    harness.run([obs("host", {"fqdn": "db1.example.com"}, {"owner": "dba"}, source="manual", scope="hand")],
                source="manual", scope="hand")
    harness.clock.advance(DAY)
    host = ref("host", machine_id="m-db")
    harness.run([obs("host", {"machine_id": "m-db"}, {"kernel": "6.1"}, source="ssh", scope="lab"),
                 obs("interface", {"name": "eth0"}, {"mtu": 9000}, parent=host, source="ssh", scope="lab")],
                source="ssh", scope="lab")
    harness.run([obs("application", {"name": "billing"}, source="manual", scope="hand"),
                 rel("RUNS_ON", ref("application", name="billing"), host, source="manual", scope="hand")],
                source="manual", scope="hand")
    keep = harness.find("host", fqdn="db1.example.com")
    other = harness.find("host", machine_id="m-db")
    app = harness.find("application", name="billing")
    iface = harness.find("interface", name="eth0")
    merges = Merges(harness.ingestor)

    result = merges.merge(keep.uid, other.uid)
    assert (result.kept.attributes["machine_id"], result.other.status, result.other.merged_into) == (
        "m-db", Lifecycle.RETIRED, keep.uid)
    edges = {(r.source_uid, r.type, r.target_uid) for r in harness.all_rels()}
    assert edges == {(keep.uid, "CONTAINS", iface.uid), (app.uid, "RUNS_ON", keep.uid)}
    assert harness.store.get_cis([iface.uid])[iface.uid].parent_uid == keep.uid
    # A scan seen after the merge lands on the kept CI.
    _, report = harness.run([obs("host", {"machine_id": "m-db"}, {"kernel": "6.1"}, source="ssh", scope="lab"),
                             obs("interface", {"name": "eth0"}, {"mtu": 9000}, parent=host, source="ssh",
                                 scope="lab")], source="ssh", scope="lab")
    assert (report.created, report.updated) == (0, 0)

    restored = merges.unmerge(other.uid)
    assert (restored.other.status, restored.other.duplicate_of, restored.other.merged_into) == (
        Lifecycle.ACTIVE, None, None)
    assert "machine_id" not in restored.kept.attributes and restored.kept.attributes["owner"] == "dba"
    edges = {(r.source_uid, r.type, r.target_uid) for r in harness.all_rels()}
    assert edges == {(other.uid, "CONTAINS", iface.uid), (app.uid, "RUNS_ON", other.uid)}
    assert harness.store.get_cis([iface.uid])[iface.uid].parent_uid == other.uid
    # And each answers its own identifiers again.
    harness.run([obs("host", {"machine_id": "m-db"}, {"os_name": "Debian"}, source="ssh", scope="lab")],
                source="ssh", scope="lab")
    assert harness.store.get_cis([other.uid])[other.uid].attributes["os_name"] == "Debian"
    assert "os_name" not in harness.store.get_cis([keep.uid])[keep.uid].attributes


def test_two_things_are_never_merged_by_hand_and_nothing_merges_twice(harness: Harness) -> None:
    harness.run([obs("host", {"machine_id": "m1"}), obs("host", {"machine_id": "m2"}), obs("host", {"fqdn": "x"})])
    one, two = harness.find("host", machine_id="m1"), harness.find("host", machine_id="m2")
    third = harness.find("host", fqdn="x")
    merges = Merges(harness.ingestor)
    with pytest.raises(EditRejected, match="their machine_id differ"):
        merges.merge(one.uid, two.uid)
    with pytest.raises(EditRejected, match="into itself"):
        merges.merge(one.uid, one.uid)
    merges.merge(one.uid, third.uid)
    with pytest.raises(EditRejected, match="retired"):
        merges.merge(two.uid, third.uid)
    with pytest.raises(EditRejected, match="was not merged"):
        merges.unmerge(two.uid)
