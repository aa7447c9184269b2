"""Move an estate between stores: export to JSON lines, import from them.

One object per line, keys sorted, in a fixed order: a header, the scan runs
(oldest first), the CIs and the relationships (by uid), the history (in the
order it was recorded), the identification keys (by key, then uid), the
sightings with their missed-run counts (by subject, source, scope), and a
trailer with the counts, so a truncated file is refused.

Version 2 added keys and sightings. A version 1 file (without them) is still
read: its keys are derived from each CI's class, attributes and parent
(:func:`cmdb.identify.keys_for`), as before; it has no sightings, so aging
starts afresh for what it holds.

Keys and sightings go through the GraphStore protocol: ``iter_keys`` and
``iter_sightings`` for export, ``restore_sightings`` (missed-run counts
included) for import.
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
    Sighting,
)
from cmdb.store.protocol import GraphStore
from schema import Schema

FORMAT = "cmdb-export"
VERSION = 2
READABLE_VERSIONS = (1, 2)
_ALL_RUNS = 1_000_000_000


class TransferError(ValueError):
    """The file is not a complete export this version can read."""


@dataclass(slots=True)
class TransferCounts:
    runs: int = 0
    cis: int = 0
    relationships: int = 0
    history: int = 0
    keys: int | None = None  # None: a version 1 file, which has neither keys nor sightings
    sightings: int | None = None

    def as_dict(self) -> dict[str, int]:
        counts = {"runs": self.runs, "cis": self.cis, "relationships": self.relationships, "history": self.history}
        if self.keys is not None:
            counts["keys"] = self.keys
        if self.sightings is not None:
            counts["sightings"] = self.sightings
        return counts


def _line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) + b"\n"


# -- records --------------------------------------------------------------------
def run_record(run: ScanRun) -> dict[str, Any]:
    return {
        "kind": "run", "run_id": run.run_id, "source": run.source, "scope": run.scope, "job": run.job,
        "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status.value,
        "counts": run.counts, "errors": run.errors, "job_run_id": run.job_run_id,
        "scan_started_at": run.scan_started_at, "scan_finished_at": run.scan_finished_at,
    }


def ci_record(ci: CI) -> dict[str, Any]:
    return {
        "kind": "ci", "uid": ci.uid, "class": ci.ci_class, "status": ci.status.value,
        "attributes": ci.attributes,
        "provenance": {k: ([p.source, p.observed_at, True] if p.hearsay else [p.source, p.observed_at]) for k, p in ci.provenance.items()},
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


def key_record(key: str, uid: str) -> dict[str, Any]:
    return {"kind": "key", "key": key, "uid": uid}


def sighting_record(sighting: Sighting, missed: int) -> dict[str, Any]:
    return {
        "kind": "sighting", "subject_uid": sighting.subject_uid, "subject_kind": sighting.subject_kind,
        "source": sighting.source, "scope": sighting.scope, "run_id": sighting.run_id,
        "seen_at": sighting.seen_at, "missed": missed,
    }


def _sighting(rec: dict[str, Any]) -> tuple[Sighting, int]:
    missed = rec["missed"]
    if type(missed) is not int or missed < 0:
        raise ValueError(f"missed must be a count, not {missed!r}")
    return Sighting(rec["subject_uid"], rec["subject_kind"], rec["source"], rec["scope"], rec["run_id"],
                    rec["seen_at"]), missed


def _run(rec: dict[str, Any]) -> ScanRun:
    return ScanRun(rec["run_id"], rec["source"], rec["scope"], rec["started_at"], rec["job"], rec["finished_at"],
                   RunStatus(rec["status"]), rec["counts"], rec["errors"], job_run_id=rec.get("job_run_id"),
                   scan_started_at=rec.get("scan_started_at"), scan_finished_at=rec.get("scan_finished_at"))


def _ci(rec: dict[str, Any]) -> CI:
    return CI(rec["uid"], rec["class"], rec["attributes"],
              {k: Provenance(*v) for k, v in rec["provenance"].items()}, Lifecycle(rec["status"]),
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
    counts = TransferCounts(keys=0, sightings=0)
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
    for key_batch in store.iter_keys(batch_size):
        out.write(b"".join(_line(key_record(k, u)) for k, u in key_batch))
        counts.keys = (counts.keys or 0) + len(key_batch)
    for sighting_batch in store.iter_sightings(batch_size):
        out.write(b"".join(_line(sighting_record(s, m)) for s, m in sighting_batch))
        counts.sightings = (counts.sightings or 0) + len(sighting_batch)
    out.write(_line({"kind": "end", "counts": counts.as_dict()}))
    return counts


# -- import ---------------------------------------------------------------------
@dataclass(slots=True)
class _Importer:
    """Turns records into ChangeSets of at most ``batch_size`` items, in file order."""

    store: GraphStore
    schema: Schema
    batch_size: int
    derive_keys: bool  # a version 1 file: keys come from the CIs
    counts: TransferCounts = field(default_factory=TransferCounts)
    pending: ChangeSet = field(default_factory=ChangeSet)
    pending_rows: int = 0
    sightings: list[tuple[Sighting, int]] = field(default_factory=list)

    def add_ci(self, ci: CI) -> Iterator[ChangeSet]:
        self.pending.cis.append(ci)
        if self.derive_keys:
            cls = self.schema.cls(ci.ci_class)
            parent = ci.parent_uid if cls.dependency else None
            self.pending.keys.extend((key, ci.uid) for key in keys_for(cls, ci.attributes, parent))
        self.counts.cis += 1
        return self._grow()

    def add_rel(self, rel: Relationship) -> Iterator[ChangeSet]:
        if self.pending.cis:
            yield self.flush()  # the ends must exist first
        self.pending.relationships.append(rel)
        self.counts.relationships += 1
        yield from self._grow()

    def add_history(self, entry: HistoryEntry) -> Iterator[ChangeSet]:
        self.pending.history.append(entry)
        self.counts.history += 1
        return self._grow()

    def add_key(self, key: str, uid: str) -> Iterator[ChangeSet]:
        self.pending.keys.append((key, uid))
        self.counts.keys = (self.counts.keys or 0) + 1
        return self._grow()

    def add_sighting(self, sighting: Sighting, missed: int) -> None:
        # Written after everything else: restoring missed counts may count runs over a scope.
        self.sightings.append((sighting, missed))
        self.counts.sightings = (self.counts.sightings or 0) + 1

    def _grow(self) -> Iterator[ChangeSet]:
        self.pending_rows += 1
        if self.pending_rows >= self.batch_size:
            yield self.flush()

    def flush(self) -> ChangeSet:
        batch, self.pending, self.pending_rows = self.pending, ChangeSet(), 0
        return batch


def restore_sightings(store: GraphStore, sightings: list[tuple[Sighting, int]], batch_size: int) -> None:
    """Write sightings with their missed-run counts, a batch at a time."""
    for start in range(0, len(sightings), batch_size):
        store.restore_sightings(sightings[start : start + batch_size])


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
    need them, as the export is ordered. Batches go through the store's bulk path
    (``apply_many``) where it has one: each is still atomic and applied in order.
    A bad record stops the import at that line; the batches before it are written."""
    records = _records(lines)
    first = next(records, None)
    if first is None or first[1].get("kind") != "header" or first[1].get("format") != FORMAT:
        raise TransferError("not a cmdb export (no header line)")
    version = first[1].get("version")
    if version not in READABLE_VERSIONS:
        raise TransferError(f"export version {version} is not supported (expected one of {READABLE_VERSIONS})")
    importer = _Importer(store, schema, batch_size, derive_keys=version == 1)
    if version != 1:
        importer.counts.keys, importer.counts.sightings = 0, 0
    trailer: dict[str, Any] = {}

    def batches() -> Iterator[ChangeSet]:
        for number, rec in records:
            if trailer:
                raise TransferError(f"line {number}: data after the end line")
            kind = rec["kind"]
            try:
                if kind == "run":
                    store.save_run(_run(rec))
                    importer.counts.runs += 1
                elif kind == "ci":
                    yield from importer.add_ci(_ci(rec))
                elif kind == "rel":
                    yield from importer.add_rel(_rel(rec))
                elif kind == "history":
                    yield from importer.add_history(_history(rec))
                elif kind == "key" and version != 1:
                    yield from importer.add_key(rec["key"], rec["uid"])
                elif kind == "sighting" and version != 1:
                    importer.add_sighting(*_sighting(rec))
                elif kind == "end":
                    trailer.update(rec)
                else:
                    raise TransferError(f"line {number}: unknown kind {kind!r}")
            except (KeyError, TypeError, ValueError) as exc:
                if isinstance(exc, TransferError):
                    raise
                raise TransferError(f"line {number}: bad {kind} record ({exc!r})") from None
        if importer.pending:
            yield importer.flush()

    apply_many = getattr(store, "apply_many", None)
    if callable(apply_many):
        apply_many(batches())
    else:
        for changes in batches():
            store.apply(changes)
    if importer.sightings:
        restore_sightings(store, importer.sightings, batch_size)
    if not trailer:
        raise TransferError("the export is truncated (no end line); what was read has been imported")
    if trailer.get("counts") != importer.counts.as_dict():
        raise TransferError(f"counts differ from the end line: read {importer.counts.as_dict()}, "
                            f"expected {trailer.get('counts')}")
    return importer.counts
