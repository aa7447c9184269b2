"""Merging by hand, undoing a merge, and the estate's suspected duplicates.

``merge(keep, gone)`` does what identification does when one observation bridges
two CIs (``cmdb.merge.absorb``), for two CIs a person knows to be one thing; it
refuses two CIs a strong identifier separates (two serials, two machine-ids).
``unmerge(uid)`` undoes a merge: the absorbed CI is active again with its own
identification keys, the values the merge gave the kept CI are taken back (where
nothing changed them since), and the edges and dependents the merge moved go back.
Each is one short run of source ``manual`` in scope ``merge``, finished incomplete
so it never ages anything, applied as one ChangeSet and announced to the listeners.

``duplicates()`` lists, estate-wide, active CIs that share an identification key:
each group with the keys as evidence, and whether a strong identifier separates
them (one name reused by two things) or not (one thing twice: merge it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from cmdb.errors import NotFound
from cmdb.identify import contradicts, identity, keys_for
from cmdb.ingest import Ingestor, _Batch
from cmdb.merge import absorb
from cmdb.model import CI, Action, HistoryEntry, Lifecycle, Relationship, RelEvidence
from cmdb.services.errors import EditRejected
from cmdb.store.protocol import GraphStore

MERGE_SOURCE = "manual"
MERGE_SCOPE = "merge"


@dataclass(frozen=True, slots=True)
class MergeResult:
    kept: CI
    other: CI  # absorbed (merge) or restored (unmerge)
    run_id: str


@dataclass(frozen=True, slots=True)
class SuspectedDuplicate:
    """Active CIs holding one identification key: the evidence, and whether something separates them."""

    uids: tuple[str, ...]  # oldest first
    classes: tuple[str, ...]
    names: tuple[str, ...]
    evidence: tuple[str, ...]  # "rule: value" of each key they share
    separated: bool  # a strong identifier (or a name's scope) differs: a reused name, not one thing
    separated_by: tuple[str, ...] = field(default=())


_NOT_A_SCAN = "a manual merge, not a scan: it ages nothing"


class Merges:
    """Manual merge and unmerge, and the duplicates report; one writer at a time (``lock``)."""

    def __init__(self, ingestor: Ingestor, lock: threading.Lock | None = None) -> None:
        self.ingestor = ingestor
        self.store: GraphStore = ingestor.store
        self.schema = ingestor.schema
        self.lock = lock or threading.Lock()

    def _get(self, uid: str) -> CI:
        found = self.store.get_cis([uid])
        if uid not in found:
            raise NotFound("CI", uid)
        return found[uid]

    def _apply(self, batch: _Batch) -> None:
        changes = batch.changeset()
        if changes:
            self.store.apply(changes)
            for listener in self.ingestor.listeners:
                try:
                    listener(changes)
                except Exception:  # a listener must never lose a committed change
                    import logging

                    logging.getLogger(__name__).exception("merge listener failed")

    def merge(self, keep_uid: str, gone_uid: str) -> MergeResult:
        """Merge ``gone_uid`` into ``keep_uid`` (the first is kept)."""
        if keep_uid == gone_uid:
            raise EditRejected("uid", "a CI cannot be merged into itself")
        with self.lock:
            keep, gone = self._get(keep_uid), self._get(gone_uid)
            for ci, what in ((keep, "kept"), (gone, "absorbed")):
                if ci.status is Lifecycle.RETIRED:
                    raise EditRejected("uid", f"the {what} CI {ci.uid} is retired; merge active or stale CIs")
            keep_cls, gone_cls = self.schema.cls(keep.ci_class), self.schema.cls(gone.ci_class)
            if keep_cls.identity_root != gone_cls.identity_root:
                raise EditRejected("uid", f"a {gone.ci_class} and a {keep.ci_class} are not one kind of thing")
            ident = identity(self.schema, keep_cls)
            clash = [a for a in ident.separating if contradicts(keep.attributes, gone.attributes, (a,))]
            if clash:
                raise EditRejected("uid", f"{keep.uid} and {gone.uid} are two things: their {', '.join(clash)} differ")
            with self.ingestor.run(MERGE_SOURCE, MERGE_SCOPE, job="merge") as run:
                batch = _Batch(self.ingestor, run.run, self.ingestor.clock())
                batch.cis.update({keep.uid: keep, gone.uid: gone})
                absorb(batch, keep, gone)
                self._apply(batch)
                run.incomplete(_NOT_A_SCAN)
            return MergeResult(self._get(keep_uid), self._get(gone_uid), run.run_id)

    def unmerge(self, uid: str) -> MergeResult:
        """Undo the merge that absorbed ``uid``."""
        with self.lock:
            gone = self._get(uid)
            keep_uid = gone.duplicate_of
            merges = [h for h in self.store.history(uid) if h.action is Action.MERGE and "merged_into" in h.changes]
            if gone.status is not Lifecycle.RETIRED or keep_uid is None or not merges:
                raise EditRejected("uid", f"CI {uid} was not merged into another")
            merge_run = merges[-1].run_id
            keep = self._get(keep_uid)
            with self.ingestor.run(MERGE_SOURCE, MERGE_SCOPE, job="unmerge") as run:
                batch = _Batch(self.ingestor, run.run, self.ingestor.clock())
                batch.cis.update({keep.uid: keep, gone.uid: gone})
                self._undo(batch, keep, gone, merge_run)
                self._apply(batch)
                run.incomplete(_NOT_A_SCAN)
            return MergeResult(self._get(keep.uid), self._get(uid), run.run_id)

    def _undo(self, batch: _Batch, keep: CI, gone: CI, merge_run: str | None) -> None:
        schema = self.schema
        entries = [h for h in self.store.history(keep.uid) if h.run_id == merge_run and h.action is Action.MERGE
                   and h.changes.get("absorbed", [None, None])[1] == gone.uid]
        keep_cls = schema.cls(keep.ci_class)
        keep_before = set(keys_for(keep_cls, keep.attributes, keep.parent_uid if keep_cls.dependency else None))
        taken_back: dict[str, list[Any]] = {}
        for entry in entries:
            for name, change in entry.changes.items():
                if name in ("absorbed", "class", "status") or not isinstance(change, list) or len(change) < 2:
                    continue
                before, after = change[0], change[1]
                if keep.attributes.get(name) != after:
                    continue  # changed since the merge: what it is now stays
                taken_back[name] = [after, before]
                if before is None:
                    keep.attributes.pop(name, None)
                    keep.provenance.pop(name, None)
                else:
                    keep.attributes[name] = before
        gone_cls = schema.cls(gone.ci_class)
        gone_keys = set(keys_for(gone_cls, gone.attributes, gone.parent_uid if gone_cls.dependency else None))
        batch._register_keys(keep, keep_cls, keep_before | gone_keys)
        batch._register_keys(gone, gone_cls, set())
        keep.updated_at = gone.updated_at = batch.now
        batch._history(keep.uid, "ci", Action.UNMERGE, {"absorbed": [gone.uid, None], **taken_back})
        batch._history(gone.uid, "ci", Action.UNMERGE, {"merged_into": [keep.uid, None],
                                                        "status": [gone.status.value, Lifecycle.ACTIVE.value]})
        gone.duplicate_of = None
        gone.status = Lifecycle.ACTIVE
        batch.dirty[keep.uid] = keep
        batch.dirty[gone.uid] = gone
        self._undo_moves(batch, keep, gone, merge_run)

    def _undo_moves(self, batch: _Batch, keep: CI, gone: CI, merge_run: str | None) -> None:
        """Edges the merge re-pointed go back to the restored CI; so do its dependents."""
        moved: list[tuple[str, str]] = []  # (edge the merge created, the edge it came from)
        reparented: list[str] = []
        for rel in self.store.neighbours([keep.uid], include_inactive=True):
            for entry in self.store.history(rel.uid):
                if entry.run_id == merge_run and entry.action is Action.CREATE and "moved_from" in entry.changes:
                    moved.append((rel.uid, str(entry.changes["moved_from"][1])))
            if rel.source_uid == keep.uid and rel.type == "CONTAINS":
                reparented.append(rel.target_uid)
        current = self.store.get_relationships([new for new, _ in moved])
        for new_uid, old_uid in moved:
            now = current.get(new_uid)
            source_uid, rel_type, target_uid = old_uid.split(":", 2)
            if now is None or gone.uid not in (source_uid, target_uid):
                continue
            rel = now
            restored = Relationship(old_uid, rel_type, source_uid, target_uid, dict(rel.attributes),
                                    RelEvidence(list(rel.evidence.sources), rel.evidence.first_seen,
                                                rel.evidence.last_seen, rel.evidence.times_seen, rel.evidence.method,
                                                rel.evidence.confidence), rel.status, rel.last_run)
            batch.changes.deleted.append(("rel", new_uid))
            batch._history(new_uid, "rel", Action.UNMERGE, {"moved_to": [None, old_uid]})
            batch._history(old_uid, "rel", Action.UNMERGE, {"moved_from": [None, new_uid]})
            batch.rels[old_uid] = restored
            batch.dirty_rels[old_uid] = restored
        children = self.store.get_cis(reparented)
        for child in children.values():
            history: list[HistoryEntry] = self.store.history(child.uid)
            if not any(h.run_id == merge_run and h.changes.get("parent_uid") == [gone.uid, keep.uid] for h in history):
                continue
            cls = self.schema.cls(child.ci_class)
            old_keys = set(keys_for(cls, child.attributes, keep.uid))
            child.parent_uid = gone.uid
            batch.cis[child.uid] = child
            batch._register_keys(child, cls, old_keys)
            batch._history(child.uid, "ci", Action.UNMERGE, {"parent_uid": [keep.uid, gone.uid]})
            batch.dirty[child.uid] = child

    def duplicates(self, limit: int = 1000) -> list[SuspectedDuplicate]:
        """Active CIs sharing an identification key, estate-wide, oldest first within each group."""
        shared: dict[str, list[str]] = {}
        for page in self.store.iter_keys():
            for key, uid in page:
                shared.setdefault(key, []).append(uid)
        groups: dict[tuple[str, ...], list[str]] = {}
        for key, uids in shared.items():
            if len(uids) > 1:
                groups.setdefault(tuple(sorted(set(uids))), []).append(key)
        wanted = {u for uids in groups for u in uids}
        cis = self.store.get_cis(wanted) if wanted else {}
        out: list[SuspectedDuplicate] = []
        for holders, keys in sorted(groups.items()):
            members = sorted((cis[u] for u in holders if u in cis and cis[u].status is Lifecycle.ACTIVE),
                             key=lambda c: (c.created_at, c.uid))
            if len(members) < 2:
                continue
            ident = identity(self.schema, self.schema.cls(members[0].ci_class))
            by = tuple(a for a in ident.separating
                       if any(contradicts(members[0].attributes, m.attributes, (a,)) for m in members[1:]))
            out.append(SuspectedDuplicate(
                uids=tuple(m.uid for m in members), classes=tuple(m.ci_class for m in members),
                names=tuple(m.name for m in members), evidence=tuple(sorted(self._evidence(k) for k in keys)),
                separated=bool(by), separated_by=by))
            if len(out) >= limit:
                break
        return out

    def _evidence(self, key: str) -> str:
        prefix, _, rest = key.partition("|")
        _, _, value = rest.partition("|")
        owner, _, index = prefix.partition("#")
        cls = self.schema.classes.get(owner)
        rule = next((r for r in cls.identifiers if r.owner == owner and str(r.index) == index), None) if cls else None
        what = "+".join(rule.attributes) if rule is not None else prefix
        return f"{what} = {value.replace(chr(0x1f), ' + ')}"
