"""The index drops a relationship that a ChangeSet deletes, as a fresh load would."""

from __future__ import annotations

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.model import ChangeSet, rel_uid
from cmdb.topology import TopologyIndex
from tests.builders import Harness, obs, ref, rel


def test_a_deleted_relationship_no_longer_carries_impact(harness: Harness) -> None:
    index = TopologyIndex.load(harness.store, harness.schema)
    harness.ingestor.listeners.append(index.apply)
    harness.run([obs("application", {"name": "shop"}, source="manual", scope="hand")], source="manual", scope="hand")
    harness.run([obs("host", {"instance_id": "i-1"}),
                 rel("RUNS_ON", ref("application", name="shop"), ref("host", instance_id="i-1"))])
    host, app = harness.find("host", instance_id="i-1").uid, harness.find("application", name="shop").uid

    def impacted(idx: TopologyIndex) -> set[str]:
        return {c.uid for c in ImpactService(idx, harness.schema).impact(ImpactRequest((host,))).impacted}

    assert impacted(index) == {host, app}
    deletion = ChangeSet(deleted=[("rel", rel_uid(app, "RUNS_ON", host))])
    harness.store.apply(deletion)
    index.apply(deletion)
    assert impacted(index) == {host}
    assert impacted(TopologyIndex.load(harness.store, harness.schema)) == {host}
