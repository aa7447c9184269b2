"""Purging long-retired CIs deletes them and their relationships, with a delete in history."""

from __future__ import annotations

from cmdb.model import Action, Lifecycle
from cmdb.purge import purge_retired
from tests.builders import DAY, Harness, obs, ref, rel


def test_purge_deletes_only_cis_retired_long_enough(harness: Harness) -> None:
    a, b, c = (obs("host", {"instance_id": i}) for i in ("i-a", "i-b", "i-c"))
    harness.run([a, b, c, obs("subnet", {"subnet_id": "s-1"}),
                 rel("IN_NETWORK", ref("host", instance_id="i-b"), ref("subnet", subnet_id="s-1"))])
    for _ in range(4):
        harness.run([a, c, obs("subnet", {"subnet_id": "s-1"})])
    b_uid = harness.find("host", instance_id="i-b").uid
    assert harness.find("host", instance_id="i-b").status is Lifecycle.RETIRED

    assert purge_retired(harness.store, harness.clock.now, retired_for_days=30).cis == []
    harness.clock.advance(31 * DAY)
    dry = purge_retired(harness.store, harness.clock.now, retired_for_days=30, dry_run=True)
    assert (dry.cis, dry.relationships) == ([b_uid], 1)
    assert harness.store.get_cis([b_uid]) != {}

    report = purge_retired(harness.store, harness.clock.now, retired_for_days=30)
    assert (report.cis, report.relationships) == ([b_uid], 1)
    assert sorted(c.attributes.get("instance_id", c.attributes.get("subnet_id")) for c in harness.all_cis()) == [
        "i-a", "i-c", "s-1"]
    assert harness.all_rels() == []
    assert [h.action for h in harness.store.history(b_uid)] == [Action.CREATE, Action.STALE, Action.RETIRE, Action.DELETE]
    # Seen again after the purge, it is a new CI (its old keys went with it).
    harness.run([b])
    assert harness.find("host", instance_id="i-b").uid != b_uid
