"""Behaviour every GraphStore must have (see tests/contract/conftest.py to add a store)."""

from __future__ import annotations

import pytest

from cmdb.ingest import Ingestor
from cmdb.model import (
    CI,
    Action,
    AttrFilter,
    ChangeSet,
    CIHead,
    CIQuery,
    HistoryEntry,
    Lifecycle,
    Provenance,
    Relationship,
    RelEvidence,
    RunStatus,
    ScanRun,
    Sighting,
    rel_uid,
)
from cmdb.observation import Item
from cmdb.store.protocol import Direction, EdgeRow, GraphStore, NodeRow
from schema import load_schema
from tests.builders import T0, Clock, obs, ref, rel


def make_ci(uid: str, cls: str = "host", status: Lifecycle = Lifecycle.ACTIVE, **attrs: object) -> CI:
    return CI(uid=uid, ci_class=cls, attributes=dict(attrs), provenance={k: Provenance("aws", T0) for k in attrs},
              status=status, created_at=T0, updated_at=T0)


def make_rel(a: str, t: str, b: str, status: Lifecycle = Lifecycle.ACTIVE, method: str = "declared",
             confidence: float = 1.0) -> Relationship:
    return Relationship(uid=rel_uid(a, t, b), type=t, source_uid=a, target_uid=b, attributes={"port": 5432},
                        evidence=RelEvidence(["aws"], T0, T0 + 5, 2, method, confidence), status=status, last_run="r1")


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    """a -RUNS_ON-> b -HOSTED_ON-> c ; d -DEPENDS_ON-> b (retired) ; a -DEPENDS_ON-> d (traffic 0.4)"""
    store.apply(ChangeSet(
        cis=[make_ci("a", "application", name="shop", owner="team-a", min_up="2"),
             make_ci("b", "host", name="web-1", fqdn="web-1.example.com", cpu_count=4),
             make_ci("c", "physical_server", name="rack-srv", cpu_count=32, uplink=True),
             make_ci("d", "database", status=Lifecycle.STALE, name="orders-db", port=5432)],
        keys=[("app#0||shop", "a"), ("device#4||web-1.example.com", "b")],
        relationships=[make_rel("a", "RUNS_ON", "b"), make_rel("b", "HOSTED_ON", "c"),
                       make_rel("d", "DEPENDS_ON", "b", status=Lifecycle.RETIRED),
                       make_rel("a", "DEPENDS_ON", "d", method="traffic", confidence=0.4)],
    ))
    return store


def test_round_trip_of_cis_and_relationships(graph: GraphStore) -> None:
    cis = graph.get_cis(["a", "b", "zzz"])
    assert set(cis) == {"a", "b"}
    assert cis["b"] == make_ci("b", "host", name="web-1", fqdn="web-1.example.com", cpu_count=4)
    rels = graph.get_relationships([rel_uid("a", "RUNS_ON", "b"), "nope"])
    assert list(rels.values()) == [make_rel("a", "RUNS_ON", "b")]


def test_ci_heads_give_uid_class_and_creation_time(graph: GraphStore) -> None:
    assert graph.get_ci_heads(["a", "c", "zzz"]) == {
        "a": CIHead("a", "application", T0), "c": CIHead("c", "physical_server", T0)}
    moved = make_ci("c", "virtual_machine", name="rack-srv")
    moved.created_at = T0 - 7
    graph.apply(ChangeSet(cis=[moved]))  # an upsert keeps the first creation time
    assert graph.get_ci_heads(["c"]) == {"c": CIHead("c", "virtual_machine", T0)}
    assert graph.get_ci_heads([]) == {}


def test_relationships_are_upserted_whether_or_not_the_batch_says_it_created_them(graph: GraphStore) -> None:
    seen_again = make_rel("a", "RUNS_ON", "b")
    seen_again.evidence.times_seen = 3
    seen_again.last_run = "r2"
    fresh = make_rel("c", "DEPENDS_ON", "b")  # no create entry in the batch: still written
    created = make_rel("a", "DEPENDS_ON", "c")
    graph.apply(ChangeSet(relationships=[seen_again, fresh, created], history=[
        HistoryEntry(created.uid, "rel", Action.CREATE, {"type": [None, "DEPENDS_ON"]}, "aws", "r2", T0)]))
    assert graph.get_relationships([seen_again.uid, fresh.uid, created.uid]) == {
        seen_again.uid: seen_again, fresh.uid: fresh, created.uid: created}


def test_a_relationship_seen_again_is_replaced_whole(graph: GraphStore) -> None:
    """An update writes the relationship's state as given: an attribute gone from it goes,
    changed evidence replaces the old, and writing it again unchanged leaves it as it is
    (on the Cypher stores, the update replaces every property with one map)."""
    first = make_rel("a", "RUNS_ON", "b")
    first.attributes = {"port": 5432, "protocol": "tcp"}
    graph.apply(ChangeSet(relationships=[first]))
    again = make_rel("a", "RUNS_ON", "b")
    again.attributes = {"port": 5433}
    again.evidence = RelEvidence(["aws", "ssh"], T0, T0 + 9, 3, "config", 0.9)
    again.last_run = "r2"
    graph.apply(ChangeSet(relationships=[again]))
    assert graph.get_relationships([again.uid]) == {again.uid: again}
    unchanged = make_rel("a", "RUNS_ON", "b")
    unchanged.attributes, unchanged.evidence, unchanged.last_run = dict(again.attributes), again.evidence, "r2"
    graph.apply(ChangeSet(relationships=[unchanged]))
    assert graph.get_relationships([again.uid]) == {again.uid: again}


def test_identification_keys_allow_several_holders_and_removal(store: GraphStore) -> None:
    store.apply(ChangeSet(keys=[("k1", "x"), ("k1", "y"), ("k2", "x")]))
    store.apply(ChangeSet(keys=[("k1", "x")]))  # idempotent
    found = store.find_keys(["k1", "k2", "k3"])
    assert {k: sorted(v) for k, v in found.items()} == {"k1": ["x", "y"], "k2": ["x"]}
    store.apply(ChangeSet(removed_keys=[("k1", "x")]))
    assert {k: sorted(v) for k, v in store.find_keys(["k1", "k2"]).items()} == {"k1": ["y"], "k2": ["x"]}


def test_upsert_replaces_the_whole_ci_state(graph: GraphStore) -> None:
    updated = make_ci("b", "cloud_instance", name="web-1", fqdn="web-1.example.com", cpu_count=8)
    updated.duplicate_of = "c"
    updated.updated_at = T0 + 1
    graph.apply(ChangeSet(cis=[updated]))
    assert graph.get_cis(["b"])["b"] == updated


def test_search_by_class_status_text_and_attribute_filters_with_keyset_pages(graph: GraphStore) -> None:
    def uids(query: CIQuery) -> list[str]:
        return [c.uid for c in graph.search(query).items]

    assert uids(CIQuery()) == ["a", "b", "c", "d"]
    assert uids(CIQuery(classes=("host", "physical_server"))) == ["b", "c"]
    assert uids(CIQuery(statuses=(Lifecycle.STALE,))) == ["d"]
    assert uids(CIQuery(text="WEB-1")) == ["b"]
    assert uids(CIQuery(filters=(AttrFilter("cpu_count", "ge", 8),))) == ["c"]
    assert uids(CIQuery(filters=(AttrFilter("cpu_count", "lt", 8),))) == ["b"]
    assert uids(CIQuery(filters=(AttrFilter("name", "eq", "shop"),))) == ["a"]
    assert uids(CIQuery(filters=(AttrFilter("name", "contains", "db"),))) == ["d"]
    first = graph.search(CIQuery(limit=3))
    assert ([c.uid for c in first.items], first.has_next, first.end_cursor) == (["a", "b", "c"], True, "c")
    second = graph.search(CIQuery(limit=3, after=first.end_cursor))
    assert ([c.uid for c in second.items], second.has_next) == (["d"], False)


def test_text_search_treats_wildcards_literally(graph: GraphStore) -> None:
    assert graph.search(CIQuery(text="%")).items == []
    assert graph.search(CIQuery(text="_")).items == []


def test_neighbours_by_direction_type_and_status(graph: GraphStore) -> None:
    def ends(rels: list[Relationship]) -> set[tuple[str, str, str]]:
        return {(r.source_uid, r.type, r.target_uid) for r in rels}

    assert ends(graph.neighbours(["b"], Direction.IN)) == {("a", "RUNS_ON", "b")}
    assert ends(graph.neighbours(["b"], Direction.IN, include_inactive=True)) == {
        ("a", "RUNS_ON", "b"), ("d", "DEPENDS_ON", "b")}
    assert ends(graph.neighbours(["b"], Direction.OUT)) == {("b", "HOSTED_ON", "c")}
    assert ends(graph.neighbours(["a", "c"], Direction.BOTH)) == {
        ("a", "RUNS_ON", "b"), ("a", "DEPENDS_ON", "d"), ("b", "HOSTED_ON", "c")}
    assert ends(graph.neighbours(["a"], Direction.OUT, types=["DEPENDS_ON"])) == {("a", "DEPENDS_ON", "d")}
    assert graph.neighbours(["nobody"]) == []


def test_history_is_kept_in_order_per_subject(store: GraphStore) -> None:
    entries = [
        HistoryEntry("x", "ci", Action.CREATE, {"name": [None, "a"]}, "aws", "r1", T0),
        HistoryEntry("y", "ci", Action.CREATE, {"name": [None, "b"]}, "aws", "r1", T0),
        HistoryEntry("x", "ci", Action.UPDATE, {"name": ["a", "b"], "tags": [None, {"k": [1, 2]}]}, "ssh", "r2", T0 + 1),
    ]
    store.apply(ChangeSet(history=entries[:2]))
    store.apply(ChangeSet(history=entries[2:]))
    got = store.history("x")
    assert [(h.action, h.changes, h.source, h.run_id, h.at) for h in got] == [
        (e.action, e.changes, e.source, e.run_id, e.at) for e in (entries[0], entries[2])]
    assert got[0].seq < got[1].seq
    all_entries = [h for batch in store.iter_history(batch_size=2) for h in batch]
    assert [h.subject_uid for h in all_entries] == ["x", "y", "x"]


def test_iterators_cover_everything_in_pages(graph: GraphStore) -> None:
    nodes = [n for batch in graph.iter_nodes(batch_size=3) for n in batch]
    assert sorted(nodes) == [
        NodeRow("a", "application", "active", "shop", "2", "team-a"),
        NodeRow("b", "host", "active", "web-1", None, None),
        NodeRow("c", "physical_server", "active", "rack-srv", None, None, True),  # the network layer's uplink mark
        NodeRow("d", "database", "stale", "orders-db", None, None),
    ]
    edges = [e for batch in graph.iter_edges(batch_size=3) for e in batch]
    assert sorted(edges) == sorted([
        EdgeRow("a", "RUNS_ON", "b", "declared", 1.0, "active"),
        EdgeRow("b", "HOSTED_ON", "c", "declared", 1.0, "active"),
        EdgeRow("d", "DEPENDS_ON", "b", "declared", 1.0, "retired"),
        EdgeRow("a", "DEPENDS_ON", "d", "traffic", 0.4, "active"),
    ])
    assert sorted(c.uid for batch in graph.iter_cis(batch_size=1) for c in batch) == ["a", "b", "c", "d"]
    assert len([r for batch in graph.iter_relationships(batch_size=3) for r in batch]) == 4
    counts = graph.counts()
    assert (counts.cis, counts.relationships) == (4, 4)


def test_scan_runs_are_saved_updated_and_listed_newest_first(store: GraphStore) -> None:
    r1 = ScanRun("r1", "aws", "acct/eu", T0, job="nightly")
    r2 = ScanRun("r2", "aws", "acct/us", T0 + 10)
    r3 = ScanRun("r3", "ssh", "lab", T0 + 20)
    for run in (r1, r2, r3):
        store.save_run(run)
    r1.status, r1.finished_at, r1.counts, r1.errors = RunStatus.INCOMPLETE, T0 + 5, {"created": 3}, ["x: timeout"]
    # The job run it is one scope of, and when its scan ran (before the run's ingest).
    r1.job_run_id, r1.scan_started_at, r1.scan_finished_at = "j1", T0 - 4000, T0 - 1
    store.save_run(r1)
    assert store.get_run("r1") == r1
    assert store.get_run("r1").duration_ms == 4005  # type: ignore[union-attr]
    assert (store.get_run("r2").job_run_id, store.get_run("r2").scan_started_at) == (None, None)  # type: ignore[union-attr]
    assert store.get_run("nope") is None
    assert [r.run_id for r in store.list_runs()] == ["r3", "r2", "r1"]
    assert [r.run_id for r in store.list_runs(source="aws")] == ["r2", "r1"]
    assert [r.run_id for r in store.list_runs(source="aws", scope="acct/eu")] == ["r1"]
    assert [r.run_id for r in store.list_runs(limit=1)] == ["r3"]
    assert [r.run_id for r in store.list_runs(job="nightly")] == ["r1"]


def test_unfinished_runs_keep_their_owner_and_heartbeat_and_an_abandoned_one_is_closed(store: GraphStore) -> None:
    running = ScanRun("r1", "aws", "acct/eu", T0, owner="host/boot/1:42:7", heartbeat_at=T0 + 3)
    later = ScanRun("r2", "ssh", "lab", T0 + 10, owner="host/boot/1:43:8", heartbeat_at=T0 + 11)
    done = ScanRun("r3", "ssh", "lab", T0 + 20, status=RunStatus.COMPLETE, finished_at=T0 + 30)
    for run in (later, running, done):
        store.save_run(run)
    assert store.unfinished_runs() == [running, later]  # oldest first
    running.status, running.finished_at, running.errors = RunStatus.ABANDONED, T0 + 50, ["abandoned: gone"]
    store.abandon_run(running)
    assert store.get_run("r1") == running
    assert store.unfinished_runs() == [later]


def test_sighting_scopes_are_the_scopes_of_a_source_under_a_prefix(store: GraphStore) -> None:
    store.apply(ChangeSet(
        cis=[make_ci("x"), make_ci("y")],
        sightings=[Sighting("x", "ci", "ssh", "dc1/db1", "r1", T0), Sighting("y", "ci", "ssh", "dc1/app1", "r1", T0),
                   Sighting("x", "ci", "ssh", "dc1:traffic", "r1", T0), Sighting("y", "ci", "ssh", "dc10/a", "r1", T0),
                   Sighting("x", "ci", "aws", "dc1/other", "r1", T0), Sighting("y", "ci", "ssh", "dc1/db1", "r1", T0)],
    ))
    assert store.sighting_scopes("ssh", "dc1/") == ["dc1/app1", "dc1/db1"]
    assert store.sighting_scopes("ssh", "dc2/") == []


def test_a_write_batch_holds_a_batchs_lookups_and_its_apply(store: GraphStore) -> None:
    with store.write_batch():
        assert store.find_keys(["application#|a"]) == {}
        store.apply(ChangeSet(cis=[make_ci("a")], keys=[("application#|a", "a")]))
        assert store.find_keys(["application#|a"]) == {"application#|a": ["a"]}  # its own write, inside
    assert store.find_keys(["application#|a"]) == {"application#|a": ["a"]}
    assert set(store.get_cis(["a"])) == {"a"}


def test_missed_runs_are_counted_per_source_and_scope_and_reset_by_a_sighting(store: GraphStore) -> None:
    store.apply(ChangeSet(
        cis=[make_ci("x"), make_ci("y")],
        relationships=[make_rel("x", "DEPENDS_ON", "y")],
        sightings=[Sighting("x", "ci", "aws", "s1", "r1", T0), Sighting("y", "ci", "aws", "s1", "r1", T0),
                   Sighting("y", "ci", "ssh", "lab", "q1", T0 + 7), Sighting(rel_uid("x", "DEPENDS_ON", "y"), "rel", "aws", "s1", "r1", T0)],
    ))
    # Run r2 of aws/s1 saw only x.
    store.apply(ChangeSet(sightings=[Sighting("x", "ci", "aws", "s1", "r2", T0 + 9)]))
    assert store.mark_missed("aws", "s1", "r2") == 2  # y and the relationship
    assert store.mark_missed("aws", "s1", "r3") == 3  # r3 saw nothing: x missed once, y twice
    assert store.mark_missed("ssh", "lab", "q1") == 0  # q1 saw all of ssh/lab
    page = store.aging_candidates("aws", "s1", "r3", None, 10)
    got = {(c.subject_kind, c.subject_uid, c.ci_class, c.status, c.min_missed, c.last_seen) for c in page}
    rid = rel_uid("x", "DEPENDS_ON", "y")
    assert got == {("ci", "x", "host", "active", 1, T0 + 9), ("ci", "y", "host", "active", 0, T0 + 7),
                   ("rel", rid, None, "active", 2, T0)}
    # Paging by subject uid.
    first = store.aging_candidates("aws", "s1", "r3", None, 2)
    rest = store.aging_candidates("aws", "s1", "r3", first[-1].subject_uid, 2)
    assert sorted(c.subject_uid for c in first + rest) == sorted(["x", "y", rid])
    store.apply(ChangeSet(sightings=[Sighting("y", "ci", "aws", "s1", "r4", T0 + 11)]))
    assert "y" not in {c.subject_uid for c in store.aging_candidates("aws", "s1", "r4", None, 10)}


def test_a_failing_batch_writes_nothing(store: GraphStore) -> None:
    bad = make_ci("bad")
    bad.attributes["weird"] = object()  # cannot be serialised by any store
    with pytest.raises(Exception):  # noqa: B017 - any store error is acceptable; the point is atomicity
        store.apply(ChangeSet(cis=[make_ci("good"), bad], history=[
            HistoryEntry("good", "ci", Action.CREATE, {}, "aws", "r1", T0)]))
    assert store.get_cis(["good", "bad"]) == {}
    assert store.history("good") == []


def test_the_ingest_pipeline_runs_on_the_store(store: GraphStore) -> None:
    schema = load_schema()
    ingestor = Ingestor(store, schema, clock=Clock())
    items: list[Item] = [obs("cloud_instance", {"instance_id": "i-1"}, {"name": "web"}), obs("subnet", {"subnet_id": "s-1"}),
             rel("IN_NETWORK", ref("cloud_instance", instance_id="i-1"), ref("subnet", subnet_id="s-1"))]
    for _ in range(2):
        with ingestor.run("aws", "s1") as run:
            run.ingest(items)
    with ingestor.run("ssh", "lab") as run:
        run.ingest([obs("host", {"machine_id": "m"}, {"instance_id": "i-1"}, source="ssh", scope="lab")])
    cis = sorted((c.ci_class, c.attributes.get("machine_id")) for batch in store.iter_cis() for c in batch)
    assert cis == [("cloud_instance", "m"), ("subnet", None)]
    assert store.counts().history == 4  # 2 creates + 1 relationship create + 1 update (machine_id)
    for _ in range(4):
        with ingestor.run("aws", "s1") as run:
            run.ingest(items[1:2])
    statuses = {c.ci_class: c.status for batch in store.iter_cis() for c in batch}
    # Still seen by ssh: the instance stays active although aws no longer sees it.
    assert statuses == {"cloud_instance": Lifecycle.ACTIVE, "subnet": Lifecycle.ACTIVE}
    assert [r.status for batch in store.iter_relationships() for r in batch] == [Lifecycle.RETIRED]


def test_deletes_remove_items_keys_and_sightings_but_keep_history(graph: GraphStore) -> None:
    graph.apply(ChangeSet(sightings=[Sighting("d", "ci", "aws", "s1", "r1", T0)],
                          history=[HistoryEntry("d", "ci", Action.CREATE, {}, "aws", "r1", T0)]))
    rid = rel_uid("d", "DEPENDS_ON", "b")
    graph.apply(ChangeSet(deleted=[("rel", rid), ("rel", rel_uid("a", "DEPENDS_ON", "d")), ("ci", "d"), ("ci", "b")],
                          keys=[("k-new", "a")]))
    assert set(graph.get_cis(["a", "b", "c", "d"])) == {"a", "c"}
    assert graph.get_relationships([rid]) == {}
    assert graph.find_keys(["device#4||web-1.example.com", "k-new"]) == {"k-new": ["a"]}
    assert graph.aging_candidates("aws", "s1", "r9", None, 10) == []
    assert [h.action for h in graph.history("d")] == [Action.CREATE]


def test_keys_and_sightings_are_listed_and_sightings_restored_with_their_missed_counts(store: GraphStore) -> None:
    store.apply(ChangeSet(keys=[("k2", "x"), ("k1", "y"), ("k1", "x")]))
    assert [k for page in store.iter_keys(batch_size=2) for k in page] == [("k1", "x"), ("k1", "y"), ("k2", "x")]

    seen = [Sighting("a", "ci", "aws", "eu", "r1", T0), Sighting("b", "ci", "aws", "eu", "r1", T0 + 1),
            Sighting("a", "ci", "ssh", "dc1", "r2", T0 + 2)]
    store.restore_sightings([(seen[0], 0), (seen[1], 3), (seen[2], 1)])
    listed = sorted(((s, m) for page in store.iter_sightings(batch_size=2) for s, m in page), key=repr)
    assert listed == sorted([(seen[0], 0), (seen[1], 3), (seen[2], 1)], key=repr)
    # Restoring again replaces, never adds: the counts are as given.
    store.restore_sightings([(seen[1], 1)])
    assert {(s.subject_uid, s.source, m) for page in store.iter_sightings() for s, m in page} == {
        ("a", "aws", 0), ("b", "aws", 1), ("a", "ssh", 1)}
    # And they age like any other sighting: a complete run of aws/eu that saw neither adds a miss.
    store.mark_missed("aws", "eu", "r9")
    assert {(s.subject_uid, s.source, m) for page in store.iter_sightings() for s, m in page} == {
        ("a", "aws", 1), ("b", "aws", 2), ("a", "ssh", 1)}


def test_a_batch_moves_sightings_from_one_subject_to_another(store: GraphStore) -> None:
    """What a merge writes: the absorbed uid's sightings dropped, the merged ones written with their counts."""
    store.restore_sightings([(Sighting("old", "ci", "aws", "eu", "r1", T0), 2),
                             (Sighting("new", "ci", "ssh", "dc1", "r2", T0 + 1), 0)])
    assert store.sightings_of(["old", "absent"]) == [(Sighting("old", "ci", "aws", "eu", "r1", T0), 2)]
    store.apply(ChangeSet(dropped_sightings=["old"],
                          restored_sightings=[(Sighting("new", "ci", "aws", "eu", "r1", T0), 2)]))
    assert store.sightings_of(["old"]) == []
    assert store.sightings_of(["new"]) == [(Sighting("new", "ci", "aws", "eu", "r1", T0), 2),
                                           (Sighting("new", "ci", "ssh", "dc1", "r2", T0 + 1), 0)]


def test_hearsay_provenance_round_trips(store: GraphStore) -> None:
    ci = make_ci("h", "network_device", name="sw1")
    ci.provenance["name"] = Provenance("snmp", T0, hearsay=True)
    store.apply(ChangeSet(cis=[ci]))
    assert store.get_cis(["h"])["h"].provenance == {"name": Provenance("snmp", T0, hearsay=True)}


def test_a_merge_through_the_ingest_pipeline_moves_keys_edges_and_sightings(store: GraphStore) -> None:
    ingestor = Ingestor(store, load_schema(), clock=Clock())

    def run(source: str, scope: str, items: list[object]) -> None:
        scan = ingestor.start_run(source, scope)
        report = ingestor.ingest(scan, items)  # type: ignore[arg-type]
        assert report.rejected == []
        ingestor.finish_run(scan, complete=True)

    run("manual", "hand", [obs("host", {"fqdn": "db-1.example.com"}, {"owner": "dba"}, source="manual", scope="hand")])
    host = ref("host", machine_id="m-db")
    run("ssh", "lab", [obs("host", {"machine_id": "m-db"}, source="ssh", scope="lab"),
                       obs("interface", {"name": "eth0"}, parent=host, source="ssh", scope="lab")])
    run("ssh", "lab", [obs("host", {"machine_id": "m-db"}, {"fqdn": "db-1.example.com"}, source="ssh", scope="lab")])
    cis = {c.uid: c for batch in store.iter_cis() for c in batch}
    (kept,) = [c for c in cis.values() if c.ci_class == "host" and c.status is Lifecycle.ACTIVE]
    (gone,) = [c for c in cis.values() if c.ci_class == "host" and c.status is Lifecycle.RETIRED]
    assert (kept.attributes["owner"], kept.attributes["machine_id"], gone.duplicate_of) == ("dba", "m-db", kept.uid)
    (iface,) = [c for c in cis.values() if c.ci_class == "interface"]
    assert iface.parent_uid == kept.uid
    assert {(r.source_uid, r.type, r.target_uid) for batch in store.iter_relationships() for r in batch} == {
        (kept.uid, "CONTAINS", iface.uid)}
    assert {(s.source, s.scope) for s, _ in store.sightings_of([kept.uid])} == {("manual", "hand"), ("ssh", "lab")}
    assert store.sightings_of([gone.uid]) == []
    assert set(store.find_keys(["device#2||m-db"])["device#2||m-db"]) == {kept.uid}


def test_an_abandoned_run_gives_back_the_evidence_from_before_it_after_several_writes_of_it(store: GraphStore) -> None:
    """The evidence before a run is kept by its first write of a relationship, not by later ones of the same
    run; a relationship the run created stays as the run left it (as on SQLite)."""
    kept = make_rel("a", "DEPENDS_ON", "b")  # last counted by r1: sources aws, seen twice, up to T0 + 5
    before = Relationship(kept.uid, kept.type, "a", "b", {"port": 5432}, RelEvidence(["aws"], T0, T0 + 5, 2, "declared", 1.0),
                          last_run="r1")
    store.apply(ChangeSet(cis=[make_ci("a"), make_ci("b"), make_ci("c")], relationships=[before]))
    run = ScanRun("r2", "ssh", "lab", T0 + 10)
    store.save_run(run)
    first = RelEvidence(["aws", "ssh"], T0, T0 + 10, 3, "observed", 0.9)
    created = Relationship(rel_uid("a", "RUNS_ON", "c"), "RUNS_ON", "a", "c", {}, RelEvidence(["ssh"], T0 + 10, T0 + 10, 1,
                           "observed", 0.9), last_run="r2")
    store.apply(ChangeSet(relationships=[Relationship(kept.uid, kept.type, "a", "b", {"port": 5432}, first, last_run="r2"),
                                         created]))
    second = RelEvidence(["aws", "ssh"], T0, T0 + 12, 4, "observed", 0.95)  # the same run, a later batch
    store.apply(ChangeSet(relationships=[Relationship(kept.uid, kept.type, "a", "b", {"port": 5432}, second, last_run="r2")]))
    assert store.get_relationships([kept.uid])[kept.uid].evidence == second
    run.status, run.finished_at = RunStatus.ABANDONED, T0 + 20
    store.abandon_run(run)
    got = store.get_relationships([kept.uid, created.uid])
    assert (got[kept.uid].evidence, got[kept.uid].last_run) == (before.evidence, "r1")
    assert (got[created.uid].evidence, got[created.uid].last_run) == (created.evidence, "r2")
