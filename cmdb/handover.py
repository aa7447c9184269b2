"""Handing over to a rebuilt machine what name-only sources put on its predecessor's CI.

A host rebuilt under its name (a new machine-id) is a new CI (its strong identifier
disagrees with the CI holding the name). Sources that know it only by its name (an
asset register with the FQDN, an SNMP agent's sysName) cannot tell the two machines
apart: whichever of them reported after the old machine was last seen with its strong
identifier, and before the source with the strong identifier reported the new one,
landed on the old CI. What they reported since that sighting is about the machine that
now holds the name. When the scope that used to reach the old machine (its SSH target)
reaches one with another strong identifier under the same name, the CI the new machine
is identified as (created then, or by a hypervisor's strong identifiers just before)
takes over:

- those sources' sightings of the old CI (per source and scope, missed-run counts kept);
- the attribute values they wrote there, with their provenance (values the old CI is
  identified by stay on it as well: the old machine keeps its name in history);
- the dependents (interfaces, software) and relationships only those sightings hold.

Both CIs get an update history entry naming the other (``handed_over_from`` /
``handed_over_to``); a dependent that other sources hold too is split, the name-only
sources' part becoming its twin under the new CI. The old CI then ages on its own
sources' runs. Whichever order the sources report in, the name-only sources'
latest observations end on the new CI: reporting before the strong source, they are
handed over here; after it, the name goes to the newest active holder
(:meth:`cmdb.ingest._Batch._pick`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cmdb.identify import Identity, identity, keys_for
from cmdb.merge import _move_dependents, _move_relationships, _relationships_of
from cmdb.model import CI, Action, Lifecycle, Relationship, RelEvidence, Sighting, new_uid, rel_uid
from cmdb.reconcile import merge_attributes

if TYPE_CHECKING:
    from cmdb.ingest import _Batch


def hand_over(batch: _Batch, new: CI, old: CI, ident: Identity) -> None:
    """Move to ``new`` what name-only sources put on ``old`` since ``old``'s last sighting with its strong identifier."""
    strong_sources = {old.provenance[a].source for a in ident.strong
                      if a in old.attributes and a in old.provenance}
    if not strong_sources:
        return
    held = batch.store.sightings_of([old.uid])
    run = batch.run
    if not any(s.source == run.source and s.scope == run.scope for s, _ in held):
        # Only the scope that reached the old machine and now reaches another under its name tells a
        # replacement; two live machines one name denotes in two scopes (a private-IP host name in two
        # VPCs) keep what they hold.
        return
    last_strong = max((s.seen_at for s, _ in held if s.source in strong_sources), default=None)
    if last_strong is None:
        return
    pairs = {(s.source, s.scope) for s, _ in held if s.source not in strong_sources and s.seen_at > last_strong}
    if not pairs:
        return
    handing = _Handing(batch, pairs, last_strong)
    handing.sightings(old.uid, new.uid, held)
    taken, given = handing.values(old, new)
    batch._history(new.uid, "ci", Action.UPDATE, {"handed_over_from": [None, old.uid], **taken})
    batch._history(old.uid, "ci", Action.UPDATE, {"handed_over_to": [None, new.uid], **given})
    old.updated_at = batch.now
    batch.dirty[old.uid] = old
    batch.dirty[new.uid] = new
    handing.below(old, new)


class _Handing:
    """One handover: the (source, scope) pairs whose sightings since ``since`` go to the new side."""

    def __init__(self, batch: _Batch, pairs: set[tuple[str, str]], since: int) -> None:
        self.batch = batch
        self.pairs = pairs
        self.sources = {source for source, _ in pairs}
        self.since = since

    def theirs(self, sighting: Sighting) -> bool:
        return (sighting.source, sighting.scope) in self.pairs and sighting.seen_at > self.since

    def sightings(self, old: str, new: str, held: list[tuple[Sighting, int]]) -> None:
        """``old``'s handed-over sightings go to ``new`` (missed-run counts kept); the rest stay."""
        batch = self.batch
        changes = batch.changes
        # What ``new`` holds already (the store's, and this batch's) is newer than anything handed over.
        newer = {(s.source, s.scope): s.seen_at for s, _ in batch.store.sightings_of([new])}
        newer.update({(s.source, s.scope): s.seen_at for s in changes.sightings if s.subject_uid == new})
        newer.update({(s.source, s.scope): s.seen_at for s, _ in changes.restored_sightings if s.subject_uid == new})
        changes.dropped_sightings.append(old)
        changes.restored_sightings.extend((s, m) for s, m in held if not self.theirs(s))
        changes.restored_sightings.extend(
            (Sighting(new, s.subject_kind, s.source, s.scope, s.run_id, s.seen_at), m) for s, m in held
            if self.theirs(s) and newer.get((s.source, s.scope), -1) < s.seen_at)

    def values(self, old: CI, new: CI) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
        """The handing sources' values of ``old`` reconciled into ``new`` with their provenance; ``old`` keeps
        of them only what identifies it. Returns the changes on each side."""
        batch = self.batch
        cls = batch.schema.cls(old.ci_class)
        ident = identity(batch.schema, cls)
        identifying = {a for rule in cls.identifiers for a in rule.attributes} | set(ident.separating)
        by_origin: dict[tuple[str, int, bool], dict[str, Any]] = {}
        for name, value in old.attributes.items():
            prov = old.provenance.get(name)
            if prov is not None and prov.source in self.sources and name not in new.attributes:
                by_origin.setdefault((prov.source, prov.observed_at, prov.hearsay), {})[name] = value
        taken: dict[str, list[Any]] = {}
        for (source, observed_at, hearsay), values in sorted(by_origin.items()):
            changed, _ = merge_attributes(new, values, source, observed_at, batch.precedence, hearsay)
            taken.update(changed)
        given: dict[str, list[Any]] = {}
        for name in sorted(taken):
            if name not in identifying and name in old.attributes:
                given[name] = [old.attributes.pop(name), None]
                old.provenance.pop(name, None)
        return taken, given

    def below(self, old: CI, new: CI) -> None:
        """``old``'s dependents and relationships: those only the handing sources hold move to ``new``; those
        others hold too are split (the handing sources' part goes to a twin under ``new``)."""
        batch = self.batch
        edges = _relationships_of(batch, old.uid)
        children = sorted({r.target_uid for r in edges if r.source_uid == old.uid})
        seen: dict[str, list[tuple[Sighting, int]]] = {}
        for s, m in batch.store.sightings_of([*(r.uid for r in edges), *children]):
            seen.setdefault(s.subject_uid, []).append((s, m))
        batch.cis.update(batch.store.get_cis([u for u in children if u not in batch.cis]))
        whole: set[str] = set()
        split: dict[str, CI] = {}
        for uid in children:
            child = batch.cis.get(uid)
            if child is None or child.parent_uid != old.uid or batch.schema.cls(child.ci_class).dependency is None:
                continue
            mine = [s for s, _ in seen.get(uid, ()) if self.theirs(s)]
            if not mine:
                continue
            if len(mine) == len(seen[uid]):
                whole.add(uid)
            else:
                split[uid] = self._twin(child, new, seen[uid])
        moving: set[str] = set()
        for rel in edges:
            if rel.target_uid == old.uid and rel.source_uid == old.parent_uid:
                continue  # the edge from its own parent: the parent's handover copied or moved it
            held = seen.get(rel.uid, [])
            mine = [s for s, _ in held if self.theirs(s)]
            dependency_of_moved = rel.source_uid == old.uid and rel.target_uid in whole
            only_theirs = bool(mine) and len(mine) == len(held) and rel.target_uid not in split
            if dependency_of_moved or only_theirs:
                moving.add(rel.uid)
            elif mine:  # others saw it too: the handing sources' part is a copy at the new end
                src = new.uid if rel.source_uid == old.uid else rel.source_uid
                dst = new.uid if rel.target_uid == old.uid else rel.target_uid
                dst = split[dst].uid if dst in split else dst
                self._copy_edge(rel, src, dst, held)
        if moving:
            moved = _move_relationships(batch, old.uid, new.uid, moving)
            by_edge = dict(moved)
            batch.changes.dropped_sightings.extend(o for o, _ in moved)
            batch.changes.restored_sightings.extend(
                (Sighting(by_edge[s.subject_uid], s.subject_kind, s.source, s.scope, s.run_id, s.seen_at), m)
                for o, _ in moved for s, m in seen.get(o, []))
        if whole:
            _move_dependents(batch, new, old, whole)
        for uid, twin in split.items():
            self.below(batch.cis[uid], twin)

    def _twin(self, child: CI, new: CI, held: list[tuple[Sighting, int]]) -> CI:
        """A dependent under ``new`` with ``child``'s identity and the handing sources' values and sightings."""
        batch = self.batch
        cls = batch.schema.cls(child.ci_class)
        keys = keys_for(cls, child.attributes, new.uid)
        batch.prefetch_keys(keys)
        existing, _ = batch.match(keys, child.attributes, identity(batch.schema, cls))
        if isinstance(existing, CI) and existing.parent_uid == new.uid:  # the new CI has it already
            taken, given = self.values(child, existing)
            batch._history(existing.uid, "ci", Action.UPDATE, {"handed_over_from": [None, child.uid], **taken})
            batch._history(child.uid, "ci", Action.UPDATE, {"handed_over_to": [None, existing.uid], **given})
            child.updated_at = existing.updated_at = batch.now
            batch.dirty[child.uid] = child
            batch.dirty[existing.uid] = existing
            self.sightings(child.uid, existing.uid, held)
            return existing
        keyed = {a for rule in cls.identifiers for a in rule.attributes}
        twin = CI(uid=new_uid(), ci_class=child.ci_class, attributes={}, created_at=batch.now, updated_at=batch.now,
                  parent_uid=new.uid)
        for name in sorted(keyed & child.attributes.keys()):
            prov = child.provenance.get(name)
            origin = (prov.source, prov.observed_at, prov.hearsay) if prov is not None else ("manual", 0, False)
            merge_attributes(twin, {name: child.attributes[name]}, *origin[:2], batch.precedence, origin[2])
        _, given = self.values(child, twin)
        batch.cis[twin.uid] = twin
        batch.dirty[twin.uid] = twin
        batch._register_keys(twin, cls, set())
        batch._history(twin.uid, "ci", Action.CREATE, {"class": [None, twin.ci_class], "handed_over_from": [None, child.uid],
                                                       **{k: [None, v] for k, v in twin.attributes.items()}})
        batch._history(child.uid, "ci", Action.UPDATE, {"handed_over_to": [None, twin.uid], **given})
        child.updated_at = batch.now
        batch.dirty[child.uid] = child
        batch.report.created += 1
        self.sightings(child.uid, twin.uid, held)
        return twin

    def _copy_edge(self, rel: Relationship, src: str, dst: str, held: list[tuple[Sighting, int]]) -> None:
        """The handing sources' part of an edge others hold too, between ``src`` and ``dst``."""
        batch = self.batch
        uid = rel_uid(src, rel.type, dst)
        if uid not in batch.rels:
            batch.rels.update(batch.store.get_relationships([uid]))
        if uid not in batch.rels:
            evidence = RelEvidence(sorted(set(rel.evidence.sources) & self.sources) or list(rel.evidence.sources),
                                   rel.evidence.first_seen, rel.evidence.last_seen, rel.evidence.times_seen,
                                   rel.evidence.method, rel.evidence.confidence)
            copy = Relationship(uid, rel.type, src, dst, dict(rel.attributes), evidence, Lifecycle.ACTIVE, rel.last_run)
            batch.rels[uid] = copy
            batch.dirty_rels[uid] = copy
            batch._history(uid, "rel", Action.CREATE, {"type": [None, rel.type], "handed_over_from": [None, rel.uid]})
            batch.report.relationships_created += 1
        self.sightings(rel.uid, uid, held)
