"""Domain objects to statement parameters and result rows back, for both engines.

Pure functions. The exact attributes and provenance travel as JSON (the same
encoding as the SQLite store, so exports compare byte for byte); primitive
attributes and homogeneous lists of primitives are also written as plain
properties, nested values as JSON strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from cmdb.model import (
    CI,
    Action,
    HistoryEntry,
    Lifecycle,
    Provenance,
    Relationship,
    RelEvidence,
    RunStatus,
    ScanRun,
    Sighting,
)
from cmdb.store.protocol import EdgeRow, NodeRow

CI_RESERVED = frozenset(
    {"uid", "ci_class", "lifecycle", "created_at", "updated_at", "parent_uid", "duplicate_of", "attrs", "prov",
     "search_text", "prop_keys"}
)
# A relationship's evidence before the run that last saw it, kept so that an abandoned run can be
# taken back: each evidence property as ``prev_<name>``, and ``prev_run``. The upsert copies them
# on the server (statements.upsert_rels), as SQLite's does: nothing is read first.
REL_EVIDENCE = ("sources", "first_seen", "last_seen", "times_seen", "method", "confidence")
REL_PREVIOUS = (*(f"prev_{name}" for name in REL_EVIDENCE), "prev_run")
LEGACY_PREV_EVIDENCE = "prev_evidence"  # the evidence as one JSON list, as stores written before kept it
REL_RESERVED = frozenset(
    {"uid", "attrs", "sources", "first_seen", "last_seen", "times_seen", "method", "confidence", "lifecycle", "last_run",
     *REL_PREVIOUS, LEGACY_PREV_EVIDENCE}
)
_PRIMITIVES = (str, int, float, bool)


def dumps(value: Any) -> str:
    """The JSON encoding every store uses for nested values.

    Strict: a value that is not plain JSON raises, before anything is written.
    """
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


loads = orjson.loads

SEARCH_SEPARATOR = "\x1f"


def _atoms(value: Any) -> Iterator[str]:
    """Scalar values inside an attribute value, as SQLite's ``json_tree`` atoms read as text."""
    if value is None:
        return
    if isinstance(value, bool):
        yield "1" if value else "0"
    elif isinstance(value, (int, float, str)):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _atoms(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _atoms(item)


def _atoms_into(value: Any, parts: list[str]) -> None:
    """``_atoms`` appended to ``parts``: plain types directly, anything else through ``_atoms``.

    A CI row's search text is built for every CI written; recursion into nested
    maps and lists without generators costs a third of what ``_atoms`` does.
    """
    kind = type(value)
    if kind is str:
        parts.append(value)
    elif kind is dict:
        for item in value.values():
            _atoms_into(item, parts)
    elif kind is list:
        for item in value:
            _atoms_into(item, parts)
    elif kind is int or kind is float:
        parts.append(str(value))
    elif value is not None:
        parts.extend(_atoms(value))


def search_text(attributes: dict[str, Any]) -> str:
    """Lower-cased attribute values joined by a separator: what a text search matches.

    Values only, never attribute names.
    """
    parts: list[str] = []
    for value in attributes.values():
        _atoms_into(value, parts)
    return SEARCH_SEPARATOR.join(parts).lower()


def _plain(value: Any) -> Any:
    """A value a property can hold in both engines, or its JSON."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple)) and value:
        kinds = {type(v) for v in value}
        if len(kinds) == 1 and kinds.pop() in _PRIMITIVES:
            return list(value)
    return dumps(value)


_STORABLE: dict[str, bool] = {}


def _storable(name: str) -> bool:
    """Whether an attribute name can also be a plain property (memoised: names are few)."""
    ok = _STORABLE.get(name)
    if ok is None:
        ok = name.isascii() and name.isidentifier() and name[:1].isalpha()
        if len(_STORABLE) < 10_000:
            _STORABLE[name] = ok
    return ok


def _flatten(attributes: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in attributes.items():
        if v is None or k in reserved or not _storable(k):
            continue
        kind = type(v)
        flat[k] = v if (kind is str or kind is int or kind is float or kind is bool) else _plain(v)
    return flat


_KEY_SETS: dict[frozenset[str], str] = {}


def _key_set_id(keys: Iterable[str]) -> str:
    """A short stable name for a set of property names (memoised: there are few)."""
    key_set = frozenset(keys)
    found = _KEY_SETS.get(key_set)
    if found is None:
        found = hashlib.blake2b("\x1f".join(sorted(key_set)).encode(), digest_size=8).hexdigest()
        if len(_KEY_SETS) < 10_000:
            _KEY_SETS[key_set] = found
    return found


# Write rows are lists, not maps: FalkorDB takes parameters as Cypher text, where
# every map key must be unquoted, and a CI row's keys would be most of the work
# of sending it. The statements name these positions (statements.py).
CI_COLUMNS = ("uid", "created_at", "ci_class", "lifecycle", "updated_at", "attrs", "prov", "search_text",
              "parent_uid", "duplicate_of", "prop_keys", "name")
CI_ATTRIBUTES = len(CI_COLUMNS)  # then the map of attribute properties
_CI_FIXED = frozenset({"uid", "ci_class", "lifecycle", "updated_at", "attrs", "search_text", "prov"})
_CI_SHAPES: dict[tuple[Any, ...], str] = {}  # attribute names in order and three flags -> prop_keys


def ci_row(ci: CI) -> list[Any]:
    """``CI_COLUMNS`` then the attributes that are also plain properties (name aside).

    ``created_at`` is the CI's; the store may replace it (first state of a batch).
    """
    props = _flatten(ci.attributes, CI_RESERVED)
    props.pop("name", None)
    name = ci.attributes.get("name")
    name = None if name is None else str(name)
    # The names of the properties present: when they change, the store replaces them all.
    shape = (*props, name is not None, ci.parent_uid is not None, ci.duplicate_of is not None)
    prop_keys = _CI_SHAPES.get(shape)
    if prop_keys is None:
        names = _CI_FIXED.union(props).union(
            k for k, v in (("name", name), ("parent_uid", ci.parent_uid), ("duplicate_of", ci.duplicate_of))
            if v is not None)
        prop_keys = _key_set_id(names)
        if len(_CI_SHAPES) < 10_000:
            _CI_SHAPES[shape] = prop_keys
    return [
        ci.uid, ci.created_at, ci.ci_class, ci.status.value, ci.updated_at, dumps(ci.attributes),
        dumps({k: ([p.source, p.observed_at, True] if p.hearsay else [p.source, p.observed_at]) for k, p in ci.provenance.items()}), search_text(ci.attributes),
        ci.parent_uid, ci.duplicate_of, prop_keys, name, props,
    ]


def ci_from(row: Sequence[Any]) -> CI:
    uid, ci_class, lifecycle, created_at, updated_at, parent_uid, duplicate_of, attrs, prov = row
    return CI(
        uid=uid,
        ci_class=ci_class,
        attributes=loads(attrs),
        provenance={k: Provenance(*v) for k, v in loads(prov).items()},
        status=Lifecycle(lifecycle),
        created_at=created_at,
        updated_at=updated_at,
        parent_uid=parent_uid,
        duplicate_of=duplicate_of,
    )


REL_COLUMNS = ("uid", "attrs", "sources", "first_seen", "last_seen", "times_seen", "method", "confidence",
               "lifecycle", "last_run")
REL_FIRST = 3  # a relationship row: source uid, target uid, attribute properties, then REL_COLUMNS


def rel_row(rel: Relationship) -> list[Any]:
    ev = rel.evidence
    return [
        rel.source_uid, rel.target_uid, _flatten(rel.attributes, REL_RESERVED),
        rel.uid, dumps(rel.attributes), list(ev.sources), ev.first_seen, ev.last_seen, ev.times_seen, ev.method,
        ev.confidence, rel.status.value, rel.last_run,
    ]


def rel_from(row: Sequence[Any]) -> Relationship:
    uid, rtype, src, dst, attrs, sources, first, last, times, method, confidence, lifecycle, last_run = row
    return Relationship(
        uid=uid,
        type=rtype,
        source_uid=src,
        target_uid=dst,
        attributes=loads(attrs),
        evidence=RelEvidence(list(sources or []), first, last, times, method, confidence),
        status=Lifecycle(lifecycle),
        last_run=last_run,
    )


HISTORY_COLUMNS = ("subject_uid", "subject_kind", "action", "changes", "source", "run_id", "at")


def history_row(entry: HistoryEntry) -> list[Any]:
    """``HISTORY_COLUMNS``; the store appends the row's position in its batch."""
    return [entry.subject_uid, entry.subject_kind, entry.action.value, dumps(entry.changes), entry.source,
            entry.run_id, entry.at]


def history_from(row: Sequence[Any]) -> HistoryEntry:
    seq, subject_uid, subject_kind, action, changes, source, run_id, at = row
    return HistoryEntry(subject_uid, subject_kind, Action(action), loads(changes), source, run_id, at, seq)


def sighting_rows(sightings: Sequence[Sighting]) -> list[dict[str, Any]]:
    """One row per (subject, source, scope): the last run, the latest time, the first kind."""
    rows: dict[str, dict[str, Any]] = {}
    for s in sightings:
        sid = dumps([s.subject_uid, s.source, s.scope])
        row = rows.get(sid)
        if row is None:
            rows[sid] = {
                "sid": sid, "skey": scope_key(s.source, s.scope), "subject_uid": s.subject_uid,
                "subject_kind": s.subject_kind, "source": s.source, "scope": s.scope,
                "run_id": s.run_id, "seen_at": s.seen_at,
            }
        else:
            row["run_id"] = s.run_id
            row["seen_at"] = max(row["seen_at"], s.seen_at)
    return list(rows.values())


def scope_key(source: str, scope: str) -> str:
    return dumps([source, scope])


def run_row(run: ScanRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id, "source": run.source, "scope": run.scope, "job": run.job,
        "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status.value,
        "counts": dumps(run.counts), "errors": dumps(run.errors), "owner": run.owner, "heartbeat_at": run.heartbeat_at,
        "job_run_id": run.job_run_id, "scan_started_at": run.scan_started_at, "scan_finished_at": run.scan_finished_at,
    }


def run_from(row: Sequence[Any]) -> ScanRun:
    (run_id, source, scope, job, started_at, finished_at, status, counts, errors, owner, heartbeat_at,
     job_run_id, scan_started_at, scan_finished_at) = row
    return ScanRun(
        run_id=run_id, source=source, scope=scope, started_at=started_at, job=job, finished_at=finished_at,
        status=RunStatus(status), counts=loads(counts), errors=loads(errors), owner=owner, heartbeat_at=heartbeat_at,
        job_run_id=job_run_id, scan_started_at=scan_started_at, scan_finished_at=scan_finished_at,
    )


def node_from(row: Sequence[Any]) -> NodeRow:
    uid, ci_class, lifecycle, name, min_up, owner, uplink = row
    return NodeRow(uid, ci_class, lifecycle, name, None if min_up is None else str(min_up),
                   None if owner is None else str(owner), None if uplink is None else bool(uplink))


def edge_from(row: Sequence[Any]) -> EdgeRow:
    _uid, src, rtype, dst, method, confidence, lifecycle = row
    return EdgeRow(src, rtype, dst, method, float(confidence), lifecycle)
