"""The SQLite store's index of searchable attributes (the ``ci_attrs`` table).

Search by an indexed attribute reads this table, so it must follow every write
(create, update, delete), hold exactly the attributes the schema marks
``indexed``, and be rebuilt when that set changes or the file predates it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cmdb.model import AttrFilter, CIQuery
from cmdb.purge import purge_retired
from cmdb.store.sqlite import SQLiteStore
from tests.builders import DAY, Harness, obs


def attr_rows(path: Path) -> set[tuple[str, object, str]]:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("SELECT name, value, uid FROM ci_attrs"))


def found(store: SQLiteStore, attribute: str, op: str, value: object) -> set[str]:
    page = store.search(CIQuery(filters=(AttrFilter(attribute, op, value),)))
    return {ci.attributes["name"] for ci in page.items}


def seed(tmp_path: Path) -> tuple[Harness, dict[str, str]]:
    h = Harness(tmp_path / "cmdb.sqlite")
    h.run([
        obs("virtual_machine", {"fqdn": "web-01.example.com"},
            {"name": "web-01", "owner": "team-a", "environment": "prod", "cpu_count": 4, "kernel": "6.1"}),
        obs("virtual_machine", {"fqdn": "web-02.example.com"}, {"name": "web-02", "owner": "team-b", "cpu_count": 8}),
    ])
    uids = {ci.attributes["name"]: ci.uid for ci in h.store.search(CIQuery()).items}
    return h, uids


def test_indexed_attributes_and_only_those_are_kept(tmp_path: Path) -> None:
    h, uids = seed(tmp_path)
    a, b = uids["web-01"], uids["web-02"]
    assert attr_rows(tmp_path / "cmdb.sqlite") == {
        ("name", "web-01", a), ("owner", "team-a", a), ("environment", "prod", a), ("fqdn", "web-01.example.com", a),
        ("name", "web-02", b), ("owner", "team-b", b), ("fqdn", "web-02.example.com", b),
    }  # kernel and cpu_count are not indexed
    assert found(h.sqlite, "owner", "eq", "team-a") == {"web-01"}
    assert found(h.sqlite, "owner", "ne", "team-a") == {"web-02"}
    assert found(h.sqlite, "name", "ge", "web-02") == {"web-02"}
    assert found(h.sqlite, "fqdn", "contains", "example") == {"web-01", "web-02"}
    assert found(h.sqlite, "cpu_count", "gt", 4) == {"web-02"}  # not indexed: read from the CI's JSON


def test_updates_and_deletes_follow(tmp_path: Path) -> None:
    h, uids = seed(tmp_path)
    a, b = uids["web-01"], uids["web-02"]
    h.clock.advance(DAY)
    h.run([obs("virtual_machine", {"fqdn": "web-01.example.com"}, {"owner": "team-c"}, at=h.clock.now)])
    rows = attr_rows(tmp_path / "cmdb.sqlite")
    assert ("owner", "team-c", a) in rows and ("owner", "team-a", a) not in rows
    assert found(h.sqlite, "owner", "eq", "team-a") == set()
    assert found(h.sqlite, "owner", "eq", "team-c") == {"web-01"}

    # web-02 ages out of four complete runs, is retired, then purged.
    for _ in range(4):
        h.clock.advance(DAY)
        h.run([obs("virtual_machine", {"fqdn": "web-01.example.com"}, {"owner": "team-c"}, at=h.clock.now)])
    h.clock.advance(30 * DAY)
    assert purge_retired(h.store, now=h.clock.now, retired_for_days=7).cis == [b]
    assert {uid for _, _, uid in attr_rows(tmp_path / "cmdb.sqlite")} == {a}
    assert b not in {ci.uid for ci in h.store.search(CIQuery()).items}


def test_rebuilt_for_a_file_from_before_the_table_or_a_changed_schema(tmp_path: Path) -> None:
    h, _ = seed(tmp_path)
    expected = attr_rows(tmp_path / "cmdb.sqlite")
    h.store.close()
    with sqlite3.connect(tmp_path / "cmdb.sqlite") as conn:  # as a file of the earlier layout looked
        conn.execute("DELETE FROM ci_attrs")
        conn.execute("DELETE FROM meta")
        conn.execute("CREATE INDEX cis_attr_owner_p ON cis(json_extract(attrs, '$.owner'))"
                     " WHERE json_extract(attrs, '$.owner') IS NOT NULL")
    store = SQLiteStore(tmp_path / "cmdb.sqlite", h.schema)
    assert attr_rows(tmp_path / "cmdb.sqlite") == expected
    assert found(store, "owner", "eq", "team-b") == {"web-02"}
    with sqlite3.connect(tmp_path / "cmdb.sqlite") as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'cis_attr_%'").fetchall() == []
    store.close()

    # Opened without a schema (a read-only tool), the store keeps what the file says.
    store = SQLiteStore(tmp_path / "cmdb.sqlite")
    assert found(store, "owner", "eq", "team-b") == {"web-02"}
    store.close()
