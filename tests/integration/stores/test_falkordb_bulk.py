"""apply_many: batches applied in order, each atomically, the next serialised while one runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.model import CI, Action, AttrFilter, ChangeSet, CIQuery, HistoryEntry, Relationship, RelEvidence, rel_uid
from cmdb.store.cypher.store import CypherStore
from tests.integration.stores.falkordb_fixture import falkordb_store

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from store_load import ci_batches, rel_batches


def test_apply_many_matches_one_apply_after_another(tmp_path: Path) -> None:
    with falkordb_store(tmp_path / "a", batch_size=300) as bulk, falkordb_store(tmp_path / "b", batch_size=300) as one:
        assert isinstance(bulk, CypherStore)
        batches = [*ci_batches(1200, 250), *rel_batches(1200, 2400, 500)]
        assert bulk.apply_many(iter(batches)) == len(batches)
        for changes in batches:
            one.apply(changes)
        assert bulk.counts() == one.counts()
        assert [c for b in bulk.iter_cis() for c in b] == [c for b in one.iter_cis() for c in b]
        assert [r for b in bulk.iter_relationships() for r in b] == [r for b in one.iter_relationships() for r in b]
        assert [h.seq for b in bulk.iter_history() for h in b] == list(range(1, 1201))


def test_apply_many_stops_at_the_first_failing_batch(tmp_path: Path) -> None:
    with falkordb_store(tmp_path) as store:
        assert isinstance(store, CypherStore)
        good = list(ci_batches(30, 10))
        bad = CI("bad", "host", {"weird": object()})

        def batches() -> Iterator[ChangeSet]:
            yield good[0]
            yield good[1]
            yield ChangeSet(cis=[bad])
            yield good[2]

        with pytest.raises(TypeError):
            store.apply_many(batches())
        assert store.counts().cis == 20  # the two batches before the failing one, nothing after


def test_a_batch_of_many_attribute_sets_reads_back_exactly(tmp_path: Path) -> None:
    """Rows sharing attribute names send them as lists; past a few sets per class, as maps."""
    with falkordb_store(tmp_path) as store:
        created = [CI(f"u{i:02d}", "host", {"name": f"h{i}", f"a{i % 12}": i, "env": "prod"}, created_at=5)
                   for i in range(40)]
        store.apply(ChangeSet(cis=created, history=[HistoryEntry(c.uid, "ci", Action.CREATE, {}, "t", "r", 5)
                                                    for c in created[:25]]))
        assert store.get_cis([c.uid for c in created]) == {c.uid: c for c in created}
        # Updates: other attribute sets, some attributes gone, one CI without any.
        updated = [CI(c.uid, "host", {"name": c.attributes["name"], f"b{i % 10}": [i, i + 1]} if i else {},
                      created_at=5, updated_at=9) for i, c in enumerate(created)]
        store.apply(ChangeSet(cis=updated))
        assert store.get_cis([c.uid for c in updated]) == {c.uid: c for c in updated}
        found = store.search(CIQuery(filters=(AttrFilter("b3", "eq", [3, 4]),)))
        assert [c.uid for c in found.items] == ["u03"]


def test_relationship_properties_are_added_on_create_and_replaced_on_update(tmp_path: Path) -> None:
    """Rows without attribute properties take the cheaper create; an update still replaces them all."""
    with falkordb_store(tmp_path) as store:
        assert isinstance(store, CypherStore)
        a, b, c = (CI(uid, "host", {"name": uid}, created_at=5) for uid in ("a", "b", "c"))
        ev = RelEvidence(["aws"], 5, 5, 1, "declared", 1.0)
        with_attributes = Relationship(rel_uid("a", "DEPENDS_ON", "b"), "DEPENDS_ON", "a", "b",
                                       {"port": 443, "proto": "tcp"}, ev)
        plain = Relationship(rel_uid("a", "DEPENDS_ON", "c"), "DEPENDS_ON", "a", "c", {}, ev)
        store.apply(ChangeSet(cis=[a, b, c], relationships=[with_attributes, plain]))

        def props() -> dict[str, dict[str, object]]:
            rows = store.transport.read("MATCH (:CI)-[r]->(:CI) RETURN r.uid, properties(r)", {})
            return {uid: {k: v for k, v in p.items() if k in ("port", "proto", "uid", "times_seen")}
                    for uid, p in rows}

        assert props() == {with_attributes.uid: {"uid": with_attributes.uid, "port": 443, "proto": "tcp",
                                                 "times_seen": 1},
                           plain.uid: {"uid": plain.uid, "times_seen": 1}}
        ev2 = RelEvidence(["aws"], 5, 9, 2, "declared", 1.0)
        store.apply(ChangeSet(relationships=[
            Relationship(with_attributes.uid, "DEPENDS_ON", "a", "b", {"port": 80}, ev2),
            Relationship(plain.uid, "DEPENDS_ON", "a", "c", {"proto": "udp"}, ev2)]))
        assert props() == {with_attributes.uid: {"uid": with_attributes.uid, "port": 80, "times_seen": 2},
                           plain.uid: {"uid": plain.uid, "proto": "udp", "times_seen": 2}}
        got = store.get_relationships([with_attributes.uid, plain.uid])
        assert {u: r.attributes for u, r in got.items()} == {with_attributes.uid: {"port": 80},
                                                              plain.uid: {"proto": "udp"}}


def test_a_create_batch_whose_cis_exist_is_written_again_as_upserts(tmp_path: Path) -> None:
    """The CREATE meets the uid constraint (nothing written, bookkeeping not sent); the retry
    upserts, so keys are not doubled; the batch's history entries are appended once per write."""
    with falkordb_store(tmp_path, batch_size=300) as store:
        assert isinstance(store, CypherStore)
        batches = list(ci_batches(600, 200))
        store.apply(batches[0])
        store.apply(batches[0])  # through apply
        assert store.apply_many(iter(batches)) == 3  # through the bulk path: the first batch again
        counts = store.counts()
        assert (counts.cis, counts.history) == (600, 1000)  # the first batch written three times
        keys = [k for page in store.iter_keys() for k in page]
        assert sorted(keys) == sorted({k for b in batches for k in b.keys})
        assert [h.seq for b in store.iter_history() for h in b] == list(range(1, 1001))
