"""Relationship evidence in the SQLite file: a JSON array in ``RelEvidence`` field order.

Files written before it hold a JSON object per relationship; opening one rewrites
those rows once, and everything that reads evidence (relationships, the topology
index's edge rows, a further ingest) sees the same values as before.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cmdb.model import RelEvidence
from cmdb.store.protocol import EdgeRow
from cmdb.store.sqlite import SQLiteStore
from tests.builders import Harness, obs, ref, rel


def raw_evidence(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT uid, evidence FROM rels"))


def seed(path: Path) -> tuple[Harness, str]:
    h = Harness(path)
    h.run([
        obs("host", {"instance_id": "i-a"}, {"name": "a"}),
        obs("subnet", {"subnet_id": "s-1"}),
        rel("IN_NETWORK", ref("host", instance_id="i-a"), ref("subnet", subnet_id="s-1"), confidence=0.85),
    ])
    (uid,) = raw_evidence(path)
    return h, uid


def test_evidence_is_written_as_an_array(tmp_path: Path) -> None:
    path = tmp_path / "cmdb.sqlite"
    h, uid = seed(path)
    stored = h.store.get_relationships([uid])[uid].evidence
    assert raw_evidence(path) == {
        uid: f'[["aws"],{stored.first_seen},{stored.last_seen},1,"declared",0.85]'}
    assert stored == RelEvidence(["aws"], stored.first_seen, stored.last_seen, 1, "declared", 0.85)


def test_a_file_with_object_evidence_is_rewritten_on_open(tmp_path: Path) -> None:
    path = tmp_path / "cmdb.sqlite"
    h, uid = seed(path)
    before = h.store.get_relationships([uid])[uid]
    h.store.close()
    with sqlite3.connect(path) as conn:  # the format of files written before the array
        conn.execute(
            "UPDATE rels SET evidence = json_object('confidence', 0.85, 'first_seen', ?, 'last_seen', ?,"
            " 'method', 'declared', 'sources', json_array('aws', 'ssh'), 'times_seen', 4)",
            (before.evidence.first_seen, before.evidence.last_seen))
        conn.execute("DELETE FROM meta WHERE key = 'evidence_format'")

    store = SQLiteStore(path)
    expected = RelEvidence(["aws", "ssh"], before.evidence.first_seen, before.evidence.last_seen, 4, "declared", 0.85)
    assert store.get_relationships([uid])[uid].evidence == expected
    assert raw_evidence(path) == {
        uid: f'[["aws","ssh"],{expected.first_seen},{expected.last_seen},4,"declared",0.85]'}
    assert [row for rows in store.iter_edges() for row in rows] == [
        EdgeRow(before.source_uid, "IN_NETWORK", before.target_uid, "declared", 0.85, "active")]
    store.close()
