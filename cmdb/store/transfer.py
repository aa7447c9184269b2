"""Move an estate between stores: export to JSON lines, import from them.

One object per line, keys sorted, in a fixed order: a header, the scan runs
(oldest first), the CIs and the relationships (by uid), the history (in the
order it was recorded), and a trailer with the counts, so a truncated file is
refused. Identification keys are not written: they are a function of each CI's
class, attributes and parent (:func:`cmdb.identify.keys_for`) and are derived
again on import. Works with any GraphStore, so SQLite -> FalkorDB -> SQLite (or
Neo4j) keeps everything the protocol exposes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from cmdb.identify import keys_for
from cmdb.model import (
    CI,
    Action,
    ChangeSet,
    HistoryEntry,
    Lifecycle,
    Provenance,
    Relationship,
    RelEvidence,
    RunStatus,
    ScanRun,
)
from cmdb.store.protocol import GraphStore
from schema import Schema

FORMAT = "cmdb-export"
VERSION = 1
_ALL_RUNS = 1_000_000_000


class TransferError(ValueError):
    """The file is not a complete export this version can read."""


@dataclass(slots=True)
class TransferCounts:
    runs: int = 0
    cis: int = 0
    relationships: int = 0
    history: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"runs": self.runs, "cis": self.cis, "relationships": self.relationships, "history": self.history}


def _line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n"


# -- records --------------------------------------------------------------------
def run_record(run: ScanRun) -> dict[str, Any]:
    return {
        "kind": "run", "run_id": run.run_id, "source": run.source, "scope": run.scope, "job": run.job,
        "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status.value,
        "counts": run.counts, "errors": run.errors,
    }


def ci_record(ci: CI) -> dict[str, Any]:
    return {
        "kind": "ci", "uid": ci.uid, "class": ci.ci_class, "status": ci.status.value,
        "attributes": ci.attributes,
        "provenance": {k: [p.source, p.observed_at] for k, p in ci.provenance.items()},
        "created_at": ci.created_at, "updated_at": ci.updated_at,
        "parent_uid": ci.parent_uid, "duplicate_of": ci.duplicate_of,
    }


def rel_record(rel: Relationship) -> dict[str, Any]:
    ev = rel.evidence
    return {
        "kind": "rel", "uid": rel.uid, "type": rel.type, "source_uid": rel.source_uid,
        "target_uid": rel.target_uid, "attributes": rel.attributes, "status": rel.status.value,
        "last_run": rel.last_run,
        "evidence": {"sources": ev.sources, "first_seen": ev.first_seen, "last_seen": ev.last_seen,
                     "times_seen": ev.times_seen, "method": ev.method, "confidence": ev.confidence},
    }


def history_record(entry: HistoryEntry) -> dict[str, Any]:
    # No seq: the target store numbers entries itself, in this order.
    return {
        "kind": "history", "subject_uid": entry.subject_uid, "subject_kind": entry.subject_kind,
        "action": entry.action.value, "changes": entry.changes, "source": entry.source,
        "run_id": entry.run_id, "at": entry.at,
    }


def _run(rec: dict[str, Any]) -> ScanRun:
    return ScanRun(rec["run_id"], rec["source"], rec["scope"], rec["started_at"], rec["job"], rec["finished_at"],
                   RunStatus(rec["status"]), rec["counts"], rec["errors"])


def _ci(rec: dict[str, Any]) -> CI:
    return CI(rec["uid"], rec["class"], rec["attributes"],
              {k: Provenance(v[0], v[1]) for k, v in rec["provenance"].items()}, Lifecycle(rec["status"]),
              rec["created_at"], rec["updated_at"], rec["parent_uid"], rec["duplicate_of"])


def _rel(rec: dict[str, Any]) -> Relationship:
    ev = rec["evidence"]
    return Relationship(rec["uid"], rec["type"], rec["source_uid"], rec["target_uid"], rec["attributes"],
                        RelEvidence(ev["sources"], ev["first_seen"], ev["last_seen"], ev["times_seen"],
                                    ev["method"], ev["confidence"]),
                        Lifecycle(rec["status"]), rec["last_run"])


def _history(rec: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry(rec["subject_uid"], rec["subject_kind"], Action(rec["action"]), rec["changes"],
                        rec["source"], rec["run_id"], rec["at"])


# -- export ---------------------------------------------------------------------
def export_store(store: GraphStore, out: IO[bytes], batch_size: int = 5000) -> TransferCounts:
    """Write the whole store to ``out`` as JSON lines; memory stays at one batch."""
    counts = TransferCounts()
    out.write(_line({"kind": "header", "format": FORMAT, "version": VERSION}))
    runs = sorted(store.list_runs(limit=_ALL_RUNS), key=lambda r: (r.started_at, r.run_id))
    for run in runs:
        out.write(_line(run_record(run)))
        counts.runs += 1
    for ci_batch in store.iter_cis(batch_size):
        out.write(b"".join(_line(ci_record(ci)) for ci in ci_batch))
        counts.cis += len(ci_batch)
    for rel_batch in store.iter_relationships(batch_size):
        out.write(b"".join(_line(rel_record(rel)) for rel in rel_batch))
        counts.relationships += len(rel_batch)
    for history_batch in store.iter_history(batch_size):
        out.write(b"".join(_line(history_record(h)) for h in history_batch))
        counts.history += len(history_batch)
    out.write(_line({"kind": "end", "counts": counts.as_dict()}))
    return counts


# -- import ---------------------------------------------------------------------
@dataclass(slots=True)
class _Importer:
    store: GraphStore
    schema: Schema
    batch_size: int
    counts: TransferCounts = field(default_factory=TransferCounts)
    pending: ChangeSet = field(default_factory=ChangeSet)
    pending_rows: int = 0

    def add_ci(self, ci: CI) -> None:
        cls = self.schema.cls(ci.ci_class)
        self.pending.cis.append(ci)
        parent = ci.parent_uid if cls.dependency else None
        self.pending.keys.extend((key, ci.uid) for key in keys_for(cls, ci.attributes, parent))
        self.counts.cis += 1
        self._grow()

    def add_rel(self, rel: Relationship) -> None:
        self.pending.relationships.append(rel)
        self.counts.relationships += 1
        self._grow()

    def add_history(self, entry: HistoryEntry) -> None:
        self.pending.history.append(entry)
        self.counts.history += 1
        self._grow()

    def _grow(self) -> None:
        self.pending_rows += 1
        if self.pending_rows >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.apply(self.pending)
        self.pending = ChangeSet()
        self.pending_rows = 0


def _records(lines: Iterable[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TransferError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(rec, dict) or "kind" not in rec:
            raise TransferError(f"line {number}: expected an object with a 'kind'")
        yield number, rec


def import_store(store: GraphStore, schema: Schema, lines: Iterable[bytes], batch_size: int = 2000) -> TransferCounts:
    """Load an export into ``store`` in batches (upserts: importing twice changes nothing
    but the history, which is appended again). CIs go before the relationships that
    need them, as the export is ordered."""
    importer = _Importer(store, schema, batch_size)
    records = _records(lines)
    first = next(records, None)
    if first is None or first[1].get("kind") != "header" or first[1].get("format") != FORMAT:
        raise TransferError("not a cmdb export (no header line)")
    if first[1].get("version") != VERSION:
        raise TransferError(f"export version {first[1].get('version')} is not supported (expected {VERSION})")
    trailer: dict[str, Any] | None = None
    for number, rec in records:
        if trailer is not None:
            raise TransferError(f"line {number}: data after the end line")
        kind = rec["kind"]
        try:
            if kind == "run":
                store.save_run(_run(rec))
                importer.counts.runs += 1
            elif kind == "ci":
                importer.add_ci(_ci(rec))
            elif kind == "rel":
                if importer.pending.cis:
                    importer.flush()  # the ends must exist first
                importer.add_rel(_rel(rec))
            elif kind == "history":
                importer.add_history(_history(rec))
            elif kind == "end":
                trailer = rec
            else:
                raise TransferError(f"line {number}: unknown kind {kind!r}")
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, TransferError):
                raise
            raise TransferError(f"line {number}: bad {kind} record ({exc!r})") from None
    importer.flush()
    if trailer is None:
        raise TransferError("the export is truncated (no end line); what was read has been imported")
    if trailer.get("counts") != importer.counts.as_dict():
        raise TransferError(f"counts differ from the end line: read {importer.counts.as_dict()}, "
                            f"expected {trailer.get('counts')}")
    return importer.counts
