"""Export from SQLite, import into a real FalkorDB, export again: byte for byte the same."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmdb.identify import keys_for
from cmdb.ingest import Ingestor
from cmdb.model import ChangeSet, Sighting
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.factory import open_store
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.transfer import TransferError, export_store, import_store
from cmdb_cli.main import app
from labs.synthetic import EstateSpec, SyntheticEstate
from schema import load_schema
from tests.builders import DAY, Clock


def build_estate(path: Path, cis: int = 300) -> SQLiteStore:
    """A small synthetic estate ingested twice (creates, then updates and aging), with history and runs."""
    schema = load_schema()
    store = SQLiteStore(path, schema)
    clock = Clock()
    ingestor = Ingestor(store, schema, clock=clock)
    for _ in range(2):
        for source, scope, items in SyntheticEstate(EstateSpec.for_size(cis, 4.0, seed=3)).streams():
            with ingestor.run(source, scope) as run:
                run.ingest(items)
        clock.advance(DAY)
    return store


def dump(store: object) -> bytes:
    out = io.BytesIO()
    export_store(store, out, batch_size=97)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.fixture
def falkordb(tmp_path: Path) -> Iterator[FalkorDBServer]:
    server = FalkorDBServer(tmp_path / "falkordb").start()
    yield server
    server.stop()


def records(data: bytes, kind: str) -> list[dict[str, object]]:
    return [rec for rec in map(json.loads, data.splitlines()) if rec["kind"] == kind]


def miss_some_runs(store: SQLiteStore) -> None:
    """Missed-run counts 0, 1 and 4 in one scope: what aging has left after a few runs."""
    run = store.list_runs(limit=1)[0]
    sightings = [s for s in records(dump(store), "sighting") if (s["source"], s["scope"]) == (run.source, run.scope)]
    assert len(sightings) > 20
    for _ in range(3):
        store.mark_missed(run.source, run.scope, "no-such-run")
    seen_again = [Sighting(str(s["subject_uid"]), str(s["subject_kind"]), run.source, run.scope, "later", DAY * 30)
                  for s in sightings[:10]]
    store.apply(ChangeSet(sightings=seen_again))
    store.mark_missed(run.source, run.scope, "no-such-run")
    store.apply(ChangeSet(sightings=seen_again[:5]))


def test_sqlite_to_falkordb_and_back_is_lossless(tmp_path: Path, falkordb: FalkorDBServer) -> None:
    source = build_estate(tmp_path / "src.sqlite")
    miss_some_runs(source)
    first = dump(source)
    counts = source.counts()
    assert counts.cis > 200 and counts.relationships > 200 and counts.history > counts.cis
    keys = {(str(k["key"]), str(k["uid"])) for k in records(first, "key")}
    sightings = records(first, "sighting")
    assert len(keys) >= counts.cis and len(sightings) >= counts.cis + counts.relationships
    assert {s["missed"] for s in sightings} == {0, 1, 4}

    target = open_store(falkordb.url + "/moved", load_schema())
    target.init_schema()  # type: ignore[attr-defined]
    imported = import_store(target, load_schema(), io.BytesIO(first).readlines(), batch_size=150)
    assert imported.as_dict() == {"runs": counts.runs, "cis": counts.cis, "relationships": counts.relationships,
                                  "history": counts.history, "keys": len(keys), "sightings": len(sightings)}
    second = dump(target)
    assert second == first  # keys and sightings (missed counts too) included
    by_key: dict[str, list[str]] = {}
    for key, uid in keys:
        by_key.setdefault(key, []).append(uid)
    assert target.find_keys(by_key) == {k: sorted(v) for k, v in by_key.items()}

    # And back into a fresh SQLite file (missed counts through the protocol): the same again.
    back = SQLiteStore(tmp_path / "back.sqlite", load_schema())
    import_store(back, load_schema(), io.BytesIO(second).readlines())
    assert dump(back) == first
    for store in (source, target, back):
        store.close()


def test_a_version_1_export_is_still_read(tmp_path: Path) -> None:
    """Before keys and sightings were exported: keys are derived from the CIs again."""
    source = build_estate(tmp_path / "src.sqlite", cis=60)
    data = dump(source)
    kept = [line for line in data.splitlines() if json.loads(line)["kind"] not in ("key", "sighting", "end")]
    counts = json.loads(data.splitlines()[-1])["counts"]
    v1 = [line.replace(b'"version":2', b'"version":1') for line in kept]
    v1.append(json.dumps({"kind": "end", "counts": {k: v for k, v in counts.items()
                                                    if k not in ("keys", "sightings")}}).encode())
    target = SQLiteStore(tmp_path / "v1.sqlite", load_schema())
    import_store(target, load_schema(), [line + b"\n" for line in v1])
    schema = load_schema()
    derived = {k for ci in (c for batch in source.iter_cis() for c in batch)
               for k in keys_for(schema.cls(ci.ci_class), ci.attributes,
                                 ci.parent_uid if schema.cls(ci.ci_class).dependency else None)}
    assert target.find_keys(derived) == source.find_keys(derived)
    assert records(dump(target), "sighting") == []
    for store in (source, target):
        store.close()


def test_a_truncated_or_foreign_file_is_refused(tmp_path: Path) -> None:
    source = build_estate(tmp_path / "src.sqlite", cis=50)
    lines = dump(source).splitlines(keepends=True)
    target = SQLiteStore(tmp_path / "t.sqlite", load_schema())
    with pytest.raises(TransferError, match="truncated"):
        import_store(target, load_schema(), lines[:-1])
    with pytest.raises(TransferError, match="not a cmdb export"):
        import_store(target, load_schema(), [b'{"kind": "ci"}\n'])
    tampered = [*lines[:-1], json.dumps({"kind": "end", "counts": {"runs": 0}}).encode() + b"\n"]
    with pytest.raises(TransferError, match="counts differ"):
        import_store(target, load_schema(), tampered)
    sighting = next(i for i, line in enumerate(lines) if b'"kind":"sighting"' in line)
    bad = [*lines[:sighting], lines[sighting].replace(b'"missed":0', b'"missed":-1'), *lines[sighting + 1 :]]
    with pytest.raises(TransferError, match=f"line {sighting + 1}: bad sighting record"):
        import_store(SQLiteStore(tmp_path / "u.sqlite", load_schema()), load_schema(), bad)


def test_cli_init_export_import(tmp_path: Path, falkordb: FalkorDBServer, monkeypatch: pytest.MonkeyPatch) -> None:
    build_estate(tmp_path / "cli.sqlite", cis=60).close()
    monkeypatch.setenv("CMDB_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    src = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    dst = falkordb.url + "/cli"
    out_file = tmp_path / "estate.jsonl"
    result = runner.invoke(app, ["store", "init", "--store", dst])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    again = runner.invoke(app, ["store", "init", "--store", dst])
    assert "schema up to date" in again.output
    assert runner.invoke(app, ["export", str(out_file), "--store", src]).exit_code == 0
    result = runner.invoke(app, ["import", str(out_file), "--store", dst])
    assert result.exit_code == 0, result.output
    info = runner.invoke(app, ["store", "info", "--store", dst])
    assert info.exit_code == 0, info.output
    src_store, dst_store = open_store(src), open_store(dst)
    assert src_store.counts() == dst_store.counts()
    assert f"{dst_store.counts().cis} CIs" in " ".join(info.output.split())
    src_store.close()
    dst_store.close()
    round_trip = tmp_path / "again.jsonl"
    assert runner.invoke(app, ["export", str(round_trip), "--store", dst]).exit_code == 0
    assert round_trip.read_bytes() == out_file.read_bytes()
