"""Merging two CIs found to be one thing: the older absorbs the other, losing nothing.

Used by identification (one observation's identifiers point at several CIs that no
strong identifier separates) and by hand (``cmdb merge``). Everything happens in
one ingest batch's working state (:class:`cmdb.ingest._Batch`), so a merge is
applied atomically with the rest of its batch:

- attributes: each of the absorbed CI's values is reconciled into the kept CI with
  its own provenance (source precedence decides; the absorbed CI keeps its values);
- identification keys: the absorbed CI's keys move to the kept CI;
- relationships: each edge of the absorbed CI is re-pointed at the kept CI (merged
  into an edge the kept CI already has: sources, times and confidence combined);
- sightings: moved (per source and scope, the fewer missed runs and the latest time);
- dependents (interfaces, software, filesystems): re-parented, and merged with the
  kept CI's own dependent of the same identity;
- the absorbed CI is retired with ``duplicate_of`` naming the kept one; a ``merge``
  history entry on both says which absorbed which (``merged_into`` / ``absorbed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdb.identify import identity, keys_for
from cmdb.model import CI, Action, Lifecycle, Relationship, RelEvidence, Sighting, rel_uid
from cmdb.reconcile import merge_attributes
from cmdb.store.protocol import Direction

if TYPE_CHECKING:
    from cmdb.ingest import _Batch

_METHOD_RANK = {"declared": 3, "config": 2, "traffic": 1, "inferred": 0}


def absorb(batch: _Batch, keep: CI, gone: CI) -> None:
    """Merge ``gone`` into ``keep`` in ``batch`` (both loaded whole)."""
    if keep.uid == gone.uid or (gone.duplicate_of == keep.uid and gone.status is Lifecycle.RETIRED):
        return
    schema = batch.schema
    keep_cls = schema.cls(keep.ci_class)
    gone_cls = schema.cls(gone.ci_class)
    keep_before = set(keys_for(keep_cls, keep.attributes, keep.parent_uid if keep_cls.dependency else None))
    gone_keys = set(keys_for(gone_cls, gone.attributes, gone.parent_uid if gone_cls.dependency else None))
    gone_keys.update(k for k, holders in batch.key_cache.items() if gone.uid in holders)

    changes = _merge_values(batch, keep, gone)
    new_class = schema.more_specific(keep.ci_class, gone.ci_class)
    if new_class != keep.ci_class:
        changes["class"] = [keep.ci_class, new_class]
        keep.ci_class = new_class
    if keep.parent_uid is None and gone.parent_uid is not None:
        keep.parent_uid = gone.parent_uid
    if keep.status is not Lifecycle.ACTIVE and gone.status is Lifecycle.ACTIVE:
        changes["status"] = [keep.status.value, Lifecycle.ACTIVE.value]
        keep.status = Lifecycle.ACTIVE

    for key in sorted(gone_keys):  # the absorbed CI answers no key any more...
        batch.remove_key(key, gone.uid)
    batch._register_keys(keep, schema.cls(keep.ci_class), keep_before)
    for key in sorted(gone_keys):  # ...and the kept one answers all of them, values it did not take included
        if keep.uid not in batch.key_cache.get(key, ()):
            batch.add_key(key, keep.uid)

    keep.updated_at = gone.updated_at = batch.now
    batch._history(keep.uid, "ci", Action.MERGE, {"absorbed": [None, gone.uid], **changes})
    batch._history(gone.uid, "ci", Action.MERGE, {"merged_into": [gone.duplicate_of, keep.uid],
                                                  "status": [gone.status.value, Lifecycle.RETIRED.value]})
    gone.duplicate_of = keep.uid
    gone.status = Lifecycle.RETIRED
    batch.dirty[keep.uid] = keep
    batch.dirty[gone.uid] = gone
    batch.report.merged += 1
    _redirect_batch_state(batch, gone.uid, keep.uid)
    moved = _move_relationships(batch, gone.uid, keep.uid)
    _move_sightings(batch, [(gone.uid, keep.uid), *moved])
    _move_dependents(batch, keep, gone)


def _merge_values(batch: _Batch, keep: CI, gone: CI) -> dict[str, list[Any]]:
    """Reconcile the absorbed CI's values into the kept one, each with its own provenance."""
    by_origin: dict[tuple[str, int, bool], dict[str, Any]] = {}
    for name, value in gone.attributes.items():
        prov = gone.provenance.get(name)
        origin = (prov.source, prov.observed_at, prov.hearsay) if prov is not None else ("manual", 0, False)
        by_origin.setdefault(origin, {})[name] = value
    changes: dict[str, list[Any]] = {}
    for (source, observed_at, hearsay), values in sorted(by_origin.items()):
        moved, _ = merge_attributes(keep, values, source, observed_at, batch.precedence, hearsay)
        for name, change in moved.items():
            changes[name] = [changes[name][0], change[1]] if name in changes else change
    return changes


def _redirect_batch_state(batch: _Batch, old: str, new: str) -> None:
    """What the batch already resolved to the absorbed CI now names the kept one."""
    for token, uid in list(batch.ref_cache.items()):
        if uid == old:
            batch.ref_cache[token] = new
    for i, pending in enumerate(batch.pending):
        if pending[1] == old or pending[3] == old:
            src = new if pending[1] == old else pending[1]
            dst = new if pending[3] == old else pending[3]
            batch.pending[i] = (rel_uid(src, pending[2], dst), src, pending[2], dst, *pending[4:])
    sightings = batch.changes.sightings
    for i, sighting in enumerate(sightings):
        if sighting.subject_uid == old:
            sightings[i] = Sighting(new, sighting.subject_kind, sighting.source, sighting.scope, sighting.run_id,
                                    sighting.seen_at)
    if old in batch.sighted:
        batch.sighted.add(new)


def _relationships_of(batch: _Batch, uid: str) -> list[Relationship]:
    """The CI's relationships as the batch holds them: the store's, less those the batch deleted, and its own."""
    found: dict[str, Relationship] = {}
    for rel in batch.store.neighbours([uid], Direction.BOTH, include_inactive=True):
        if rel.uid not in batch.deleted_rels:
            found[rel.uid] = batch.rels.get(rel.uid, rel)
    for rel in batch.rels.values():
        if (rel.source_uid == uid or rel.target_uid == uid) and rel.uid not in batch.deleted_rels:
            found[rel.uid] = rel
    return sorted(found.values(), key=lambda r: r.uid)


def _move_relationships(batch: _Batch, old: str, new: str, only: set[str] | None = None) -> list[tuple[str, str]]:
    """Re-point every edge of ``old`` (or those of ``only``) at ``new``; returns (old edge uid, new edge uid) pairs."""
    rels = [r for r in _relationships_of(batch, old) if only is None or r.uid in only]
    targets: dict[str, tuple[Relationship, str, str]] = {}
    for rel in rels:
        src = new if rel.source_uid == old else rel.source_uid
        dst = new if rel.target_uid == old else rel.target_uid
        targets[rel.uid] = (rel, src, dst)
    wanted = [rel_uid(src, rel.type, dst) for rel, src, dst in targets.values() if src != dst]
    missing = [u for u in wanted if u not in batch.rels and u not in batch.deleted_rels]
    if missing:
        batch.rels.update(batch.store.get_relationships(missing))
    moved: list[tuple[str, str]] = []
    for rel, src, dst in targets.values():
        batch.deleted_rels.add(rel.uid)
        batch.rels.pop(rel.uid, None)
        batch.dirty_rels.pop(rel.uid, None)
        batch.changes.deleted.append(("rel", rel.uid))
        if src == dst:  # an edge between the two merged CIs: nothing left to link
            batch._history(rel.uid, "rel", Action.DELETE, {"merged_into": [None, new]})
            continue
        uid = rel_uid(src, rel.type, dst)
        batch.deleted_rels.discard(uid)
        existing = batch.rels.get(uid)
        if existing is None:
            existing = Relationship(uid, rel.type, src, dst, dict(rel.attributes), _copy(rel.evidence),
                                    rel.status, rel.last_run)
            batch._history(uid, "rel", Action.CREATE, {"type": [None, rel.type], "moved_from": [None, rel.uid],
                                                       **{k: [None, v] for k, v in rel.attributes.items()}})
        else:
            for key, value in rel.attributes.items():
                existing.attributes.setdefault(key, value)
            existing.evidence = _combined(existing.evidence, rel.evidence)
            if rel.status is Lifecycle.ACTIVE:
                existing.status = Lifecycle.ACTIVE
            batch._history(uid, "rel", Action.MERGE, {"absorbed": [None, rel.uid]})
        batch._history(rel.uid, "rel", Action.DELETE, {"merged_into": [None, uid]})
        batch.rels[uid] = existing
        batch.dirty_rels[uid] = existing
        moved.append((rel.uid, uid))
    return moved


def _copy(evidence: RelEvidence) -> RelEvidence:
    return RelEvidence(list(evidence.sources), evidence.first_seen, evidence.last_seen, evidence.times_seen,
                       evidence.method, evidence.confidence)


def _combined(a: RelEvidence, b: RelEvidence) -> RelEvidence:
    method = a.method if _METHOD_RANK.get(a.method, 0) >= _METHOD_RANK.get(b.method, 0) else b.method
    return RelEvidence(sorted(set(a.sources) | set(b.sources)), min(a.first_seen, b.first_seen),
                       max(a.last_seen, b.last_seen), max(a.times_seen, b.times_seen), method,
                       max(a.confidence, b.confidence))


def _move_sightings(batch: _Batch, pairs: list[tuple[str, str]]) -> None:
    """Each old uid's sightings go to its new uid: per (source, scope), the fewer misses and the latest time."""
    if not pairs:
        return
    held = batch.store.sightings_of([u for pair in pairs for u in pair])
    by_subject: dict[str, list[tuple[Sighting, int]]] = {}
    for sighting, missed in held:
        by_subject.setdefault(sighting.subject_uid, []).append((sighting, missed))
    for old, new in pairs:
        merged: dict[tuple[str, str], tuple[Sighting, int]] = {
            (s.source, s.scope): (s, m) for s, m in by_subject.get(new, [])}
        for s, missed in by_subject.get(old, []):
            moved = Sighting(new, s.subject_kind, s.source, s.scope, s.run_id, s.seen_at)
            current = merged.get((s.source, s.scope))
            if current is None or (missed, -s.seen_at) < (current[1], -current[0].seen_at):
                merged[(s.source, s.scope)] = (moved, missed)
        batch.changes.dropped_sightings.append(old)
        batch.changes.restored_sightings.extend(v for k, v in sorted(merged.items()))
        by_subject[new] = list(merged.values())


def _move_dependents(batch: _Batch, keep: CI, gone: CI, only: set[str] | None = None) -> None:
    """Re-parent the absorbed CI's dependents (or those of ``only``); one with the identity of a dependent
    the kept CI has merges into it."""
    schema = batch.schema
    children_uids = sorted({r.target_uid for r in _relationships_of(batch, keep.uid)
                            if only is None or r.target_uid in only})
    batch.cis.update(batch.store.get_cis([u for u in children_uids if u not in batch.cis]))
    children = [batch.cis[u] for u in children_uids if u in batch.cis and batch.cis[u].parent_uid == gone.uid]
    for child in children:
        cls = schema.cls(child.ci_class)
        if cls.dependency is None:
            continue
        old_keys = set(keys_for(cls, child.attributes, gone.uid))
        new_keys = keys_for(cls, child.attributes, keep.uid)
        batch.prefetch_keys(new_keys)
        twin, _ = batch.match(new_keys, child.attributes, identity(schema, cls))
        before = child.parent_uid
        child.parent_uid = keep.uid
        batch._register_keys(child, cls, old_keys)
        batch._history(child.uid, "ci", Action.UPDATE, {"parent_uid": [before, keep.uid]})
        child.updated_at = batch.now
        batch.dirty[child.uid] = child
        if twin is not None and twin.uid != child.uid:
            older, newer = sorted((twin, child), key=lambda c: (c.created_at, c.uid))
            absorb(batch, older, newer)
