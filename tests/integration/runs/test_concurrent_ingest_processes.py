"""Two OS processes ingesting the same things into one SQLite file at once: one CI per thing.

Each `cmdb ingest -` identifies and applies every batch inside one write
transaction taken before its key lookups (``GraphStore.write_batch``), so the
second process to reach a batch finds the keys the first one registered.
Before that, two concurrent ingests of 20,001 applications ended with 27,002 CIs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cmdb.identify import keys_for
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema

CMDB = str(Path(sys.executable).with_name("cmdb"))
THINGS = 20_000
CHUNK = 500  # lines written to one process, then to the other: their batches interleave


def test_two_processes_ingesting_the_same_items_make_one_ci_per_thing(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data")}
    env.pop("CMDB_STORE_URL", None)
    names = [f"app-{i:05d}" for i in range(THINGS)]
    lines = [json.dumps({"kind": "ci", "source": "manual", "scope": "apps", "class": "application",
                         "identifiers": {"name": name}, "attributes": {"owner": "team-a"}}) + "\n" for name in names]
    # The store file exists first, so neither process races to create its tables.
    SQLiteStore(tmp_path / "data" / "cmdb.sqlite", load_schema()).close()
    procs = [subprocess.Popen([CMDB, "ingest", "-", "--source", "manual", "--scope", "apps", "--json"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    try:
        for start in range(0, THINGS, CHUNK):
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("".join(lines[start : start + CHUNK]))
                proc.stdin.flush()
        results = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=600)
            assert proc.returncode == 0, stderr
            results.append(json.loads(stdout)["run"])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    # Between them the two runs created every application exactly once.
    assert sum(r["counts"]["created"] for r in results) == THINGS
    assert sum(r["counts"]["unchanged"] + r["counts"]["updated"] for r in results) == THINGS
    assert [r["status"] for r in results] == ["complete", "complete"]

    schema = load_schema()
    store = SQLiteStore(tmp_path / "data" / "cmdb.sqlite", schema)
    try:
        cis = [ci for batch in store.iter_cis() for ci in batch]
        assert len(cis) == THINGS
        assert sorted(ci.attributes["name"] for ci in cis) == names
        assert [ci for ci in cis if ci.duplicate_of is not None or ci.ci_class != "application"] == []
        # Identification keys exact: each application's keys, each held by its one CI.
        expected = sorted((key, ci.uid) for ci in cis
                          for key in keys_for(schema.cls("application"), ci.attributes, None))
        assert sorted(pair for batch in store.iter_keys() for pair in batch) == expected
    finally:
        store.close()
