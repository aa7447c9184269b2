"""Two `cmdb ingest -` processes fed the same things at once, and the check that one CI per thing resulted.

Shared by the SQLite test (``test_concurrent_ingest_processes.py``) and the Cypher
stores' (``test_concurrent_ingest_cypher.py``): only the store each runs against differs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cmdb.identify import keys_for
from cmdb.store.protocol import GraphStore
from schema import Schema

CMDB = str(Path(sys.executable).with_name("cmdb"))
THINGS = 20_000
CHUNK = 500  # lines written to one process, then to the other: their batches interleave


def two_ingests_of_the_same_things(env: dict[str, str], timeout: float) -> list[str]:
    """Feed the same THINGS applications to two `cmdb ingest -` at once; check both runs; return the names."""
    names = [f"app-{i:05d}" for i in range(THINGS)]
    lines = [json.dumps({"kind": "ci", "source": "manual", "scope": "apps", "class": "application",
                         "identifiers": {"name": name}, "attributes": {"owner": "team-a"}}) + "\n" for name in names]
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
            stdout, stderr = proc.communicate(timeout=timeout)
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
    return names


def assert_one_ci_per_thing(store: GraphStore, schema: Schema, names: list[str]) -> None:
    cis = [ci for batch in store.iter_cis() for ci in batch]
    assert len(cis) == THINGS
    assert sorted(ci.attributes["name"] for ci in cis) == names
    assert [ci for ci in cis if ci.duplicate_of is not None or ci.ci_class != "application"] == []
    # Identification keys exact: each application's keys, each held by its one CI.
    expected = sorted((key, ci.uid) for ci in cis for key in keys_for(schema.cls("application"), ci.attributes, None))
    assert sorted(pair for batch in store.iter_keys() for pair in batch) == expected
