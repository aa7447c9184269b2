"""Two OS processes ingesting the same things into one SQLite file at once: one CI per thing.

Each `cmdb ingest -` identifies and applies every batch inside one write
transaction taken before its key lookups (``GraphStore.write_batch``), so the
second process to reach a batch finds the keys the first one registered.
Before that, two concurrent ingests of 20,001 applications ended with 27,002 CIs.
"""

from __future__ import annotations

import os
from pathlib import Path

from cmdb.store.sqlite import SQLiteStore
from schema import load_schema
from tests.integration.runs.concurrent_ingest import assert_one_ci_per_thing, two_ingests_of_the_same_things


def test_two_processes_ingesting_the_same_items_make_one_ci_per_thing(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data")}
    env.pop("CMDB_STORE_URL", None)
    schema = load_schema()
    # The store file exists first, so neither process races to create its tables.
    SQLiteStore(tmp_path / "data" / "cmdb.sqlite", schema).close()
    names = two_ingests_of_the_same_things(env, timeout=600)
    store = SQLiteStore(tmp_path / "data" / "cmdb.sqlite", schema)
    try:
        assert_one_ci_per_thing(store, schema, names)
    finally:
        store.close()
