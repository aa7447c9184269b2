"""The ingest pipeline: identify -> reconcile -> apply, one ChangeSet per batch.

``Ingestor`` turns what scanners saw into one CI per real thing. Items are
processed in batches: every item of a batch is validated, identified against the
store (and against what the batch itself creates), reconciled by source
precedence, and the batch is applied atomically. A bad item is rejected with an
error naming its field and leaves nothing behind; the rest of the batch applies.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from pydantic import ValidationError

from cmdb.aging import AgingReport, age_scope
from cmdb.errors import IdentityConflict, InvalidItem, RunStateError
from cmdb.gc_pause import gc_paused
from cmdb.handover import hand_over
from cmdb.identify import Identity, check_class, contradicts, corroborating, identity, keys_for, validate_attributes
from cmdb.merge import absorb
from cmdb.model import (
    CI,
    Action,
    ChangeSet,
    CIHead,
    HistoryEntry,
    Lifecycle,
    Relationship,
    RelEvidence,
    RunStatus,
    ScanRun,
    Sighting,
    new_uid,
    rel_uid,
)
from cmdb.normalise import normalise
from cmdb.observation import CIRef, Item, Observation, ObservedRelation, now_ms, parse_item
from cmdb.reconcile import Precedence, merge_attributes, merge_evidence
from cmdb.redact import redact_attributes, redact_relation_attributes
from cmdb.run_owner import current_owner
from cmdb.store.protocol import GraphStore
from schema import CIClass, Schema, Strength

if TYPE_CHECKING:
    from cmdb.runs import ActiveRun

log = logging.getLogger(__name__)
# Key-value events through the stdlib logger, so levels and handlers apply even
# when nobody configured structlog (library use, benchmarks).
events = structlog.wrap_logger(logging.getLogger("cmdb.ingest.events"))

Listener = Callable[[ChangeSet], None]


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int  # 0-based position of the item in the ingested stream (the CLI reports 1-based lines)
    field: str
    message: str

    def __str__(self) -> str:
        return f"index {self.index}: {self.field}: {self.message}"


@dataclass(slots=True)
class IngestReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    relationships_created: int = 0
    relationships_updated: int = 0
    relationships_unchanged: int = 0
    rejected: list[ItemError] = field(default_factory=list)
    duplicates: int = 0  # CIs flagged duplicate_of another without a merge (none since merging; kept for the counts)
    merged: int = 0  # CIs absorbed by another (found to be the same thing)

    def add(self, other: IngestReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.relationships_created += other.relationships_created
        self.relationships_updated += other.relationships_updated
        self.relationships_unchanged += other.relationships_unchanged
        self.rejected.extend(other.rejected)
        self.duplicates += other.duplicates
        self.merged += other.merged

    def as_counts(self) -> dict[str, int]:
        return {
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "relationships_created": self.relationships_created,
            "relationships_updated": self.relationships_updated,
            "relationships_unchanged": self.relationships_unchanged,
            "rejected": len(self.rejected), "duplicates": self.duplicates, "merged": self.merged,
        }


def _ref_depth(ref: CIRef | None) -> int:
    depth = 0
    while ref is not None:
        depth += 1
        ref = ref.parent
    return depth


def _ref_token(ref: CIRef) -> tuple[Any, ...]:
    """A hashable token for a reference, for per-batch caching (equal refs, equal tokens)."""
    parent = _ref_token(ref.parent) if ref.parent is not None else None
    return (ref.ci_class, tuple(ref.identifiers.items()), parent)


_REFERENCE_KEYS_KEPT = 200_000  # tokens whose keys an Ingestor remembers (then it starts afresh)
_UNRESOLVED: Any = object()  # a reference not looked up yet (None: looked up, no such CI)
_NO_ATTRIBUTES: dict[str, Any] = {}  # a queued relationship's attributes when it has none (never modified)


# Plain tuples, one per observation and one per relationship: a NamedTuple's
# constructor costs ten times as much.
# An observation checked: (class, validated and normalised identifiers and attributes,
# parent uid, keys, the values as observed where normalising changed them).
_Prepared = tuple[CIClass, dict[str, Any], str | None, list[str], dict[str, Any] | None]
# A relationship queued for flush_relations: (uid, source uid, type, target uid,
# attributes, method, confidence, observed_at).
_PendingRel = tuple[str, str, str, str, dict[str, Any], str, float, int]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def union_set_attributes(incoming: dict[str, Any], names: frozenset[str], held: dict[str, Any]) -> dict[str, Any]:
    """``incoming`` with each set-valued attribute replaced by the sorted union of what
    is held and what is reported, so two ends reporting differently never flap."""
    out = dict(incoming)
    for name in names & incoming.keys():
        merged: dict[bytes, Any] = {}
        for value in (*_as_list(held.get(name)), *_as_list(incoming[name])):
            merged.setdefault(orjson.dumps(value, option=orjson.OPT_SORT_KEYS), value)
        out[name] = [merged[key] for key in sorted(merged)]
    return out


class _Batch:
    """The working state of one batch: overlay of keys and CIs not yet applied."""

    def __init__(self, ingestor: Ingestor, run: ScanRun, now: int) -> None:
        self.ing = ingestor
        self.schema = ingestor.schema
        self.store = ingestor.store
        self.run = run
        self.now = now
        self.precedence = Precedence(self.schema, now)
        self.changes = ChangeSet()
        self.report = IngestReport()
        self.key_cache: dict[str, list[str]] = {}  # key -> uids (store + batch)
        self.cis: dict[str, CI] = {}  # uid -> CI loaded or created in this batch
        # uid -> uid, class and creation time of CIs only referred to (relationship
        # endpoints, parents): identifying a reference needs no more than that.
        self.heads: dict[str, CIHead] = {}
        self.dirty: dict[str, CI] = {}
        self.rels: dict[str, Relationship] = {}
        self.dirty_rels: dict[str, Relationship] = {}
        self.deleted_rels: set[str] = set()  # relationships a merge re-pointed (cmdb.merge)
        self.added_keys: set[tuple[str, str]] = set()  # the (key, uid) pairs of changes.keys
        self.ref_cache: dict[tuple[Any, ...], str | None] = {}
        self.decided = False  # the last match chose among separated CIs sharing a name
        self.sighted: set[str] = set()
        self.run_sighted = ingestor._sighted_in_run.get(run.run_id, set())  # by earlier batches of the run
        self.pending: list[_PendingRel] = []
        # Per-object memos, valid while the batch holds its items (ids stay unique):
        # a reference's token, and an observation's checked values and keys.
        self.tokens: dict[int, tuple[Any, ...]] = {}
        self.prepared: dict[int, _Prepared] = {}

    def token(self, ref: CIRef) -> tuple[Any, ...]:
        token = self.tokens.get(id(ref))
        if token is None:
            token = self.tokens[id(ref)] = _ref_token(ref)
        return token

    # -- store access, batched --------------------------------------------------------
    def prefetch_keys(self, keys: list[str], whole: bool = True) -> None:
        """Look up keys not yet known, and load the CIs holding any of ``keys``.

        ``whole``: the CIs themselves, to reconcile an observation into; otherwise
        their heads, enough to resolve references (a CI loaded whole serves both).
        """
        key_cache = self.key_cache
        missing = [k for k in keys if k not in key_cache]
        if missing:
            found = self.store.find_keys(missing)
            for key in missing:
                key_cache[key] = list(found.get(key, ()))
        cis = self.cis
        if whole:
            uids = {u for k in keys for u in key_cache[k] if u not in cis}
            if uids:
                cis.update(self.store.get_cis(uids))
        else:
            heads = self.heads
            uids = {u for k in keys for u in key_cache[k] if u not in cis and u not in heads}
            if uids:
                heads.update(self.store.get_ci_heads(uids))

    def head(self, uid: str) -> CI | CIHead:
        """The CI as this batch holds it (loaded, created or changed), else its head from the store."""
        ci = self.cis.get(uid)
        return ci if ci is not None else self.heads[uid]

    def candidates(self, key: str, whole: bool = True) -> list[Any]:
        """The CIs (``whole``) or heads holding a key, among those loaded."""
        uids = self.key_cache.get(key, ())
        if whole:
            return [self.cis[u] for u in uids if u in self.cis]
        cis, heads = self.cis, self.heads
        return [cis[u] if u in cis else heads[u] for u in uids if u in cis or u in heads]

    # -- identification -----------------------------------------------------------------
    def match(self, keys: list[str], values: dict[str, Any], ident: Identity,
              whole: bool = True) -> tuple[Any, list[Any]]:
        """The CI the keys (in rule order) identify, and the CIs to absorb into it.

        A candidate is refused when it is another thing (``Identity.refuses``: a strong
        identifier, a rule's scope or, for a locator, a name disagrees). The first rule
        with a candidate left decides: the oldest of its candidates, unless they are
        separated from each other (one name held by two things: the name was reused,
        the newest active holder has it). Every other candidate of any rule that nothing
        separates from it is the same thing: ``whole`` (an observation) returns them
        with the oldest of them all first, to keep; references never absorb.
        """
        first: list[Any] | None = None
        accepted: dict[str, Any] = {}
        rules = ident.rules
        for key in keys:
            found = self.candidates(key, whole)
            if not found:
                continue
            rule = rules[key[:key.index("|")]]
            if len(found) > 1:  # a CI whose class moved out of the rule's subtree no longer answers it
                owner = rule.owner
                found = [ci for ci in found if self.schema.is_a(ci.ci_class, owner)]
            if whole:
                found = [ci for ci in found if not ident.refuses(rule, values, ci.attributes)]
            elif ident.needs_values(rule, values):
                values = ident.normalised(values)  # a reference's identifiers as given
                found = [ci for ci in found if not ident.refuses(rule, values, self.values_of(ci.uid))]
            if not found:
                continue
            if first is None:
                first = found
                if not whole:
                    break
            for ci in found:
                accepted.setdefault(ci.uid, ci)
        if first is None:
            return None, []
        if len(first) > 1 and not whole:  # a reference naming a reused name: decided as an observation's is
            missing = [c.uid for c in first if c.uid not in self.cis]
            if missing:
                self.cis.update(self.store.get_cis(missing))
            loaded = [self.cis[c.uid] for c in first if c.uid in self.cis]
            if len(loaded) == len(first):
                return self._pick(loaded, ident, True), []
            return self._pick(first, ident, False), []
        if len(first) == 1:
            winner = first[0]
        else:
            winner = self._pick(first, ident, whole, values)
            if whole:
                self.decided = True  # among things one name denotes: what the observation chose, its references mean
        if len(accepted) == 1:
            return winner, []
        group = [winner]
        for ci in sorted(accepted.values(), key=lambda c: (c.created_at, c.uid)):
            if ci is not winner and not any(contradicts(ci.attributes, g.attributes, ident.separating) for g in group):
                group.append(ci)
        if len(group) == 1:
            return winner, []
        group.sort(key=lambda c: (c.created_at, c.uid))
        return group[0], group[1:]

    @staticmethod
    def _pick(found: list[Any], ident: Identity, whole: bool, values: Mapping[str, Any] | None = None) -> Any:
        ordered = sorted(found, key=lambda c: (c.created_at, c.uid))
        if not whole:
            return ordered[0]
        oldest = ordered[0]
        if not any(contradicts(c.attributes, oldest.attributes, ident.separating) for c in ordered[1:]):
            return oldest
        # Separated things sharing a name (app09 of two domains, a name reused by a rebuilt machine)
        # and nothing in the observation to separate them: the one its other values corroborate (the
        # address it was reached at, its model...), if exactly one does best.
        if values:
            corroborated = corroborating(ordered, values, ident)
            if corroborated is not None:
                return corroborated
        # Else the name went to the newest thing still active; said, not silent: `cmdb duplicates` lists
        # the CIs sharing the name, with what separates them.
        chosen = max(ordered, key=lambda c: (c.status is Lifecycle.ACTIVE, c.created_at, c.uid))
        events.info("shared_name_undecided", candidates=[c.uid for c in ordered], chosen=chosen.uid)
        return chosen

    def values_of(self, uid: str) -> dict[str, Any]:
        """A candidate's attributes, loading it whole when the batch holds only its head."""
        ci = self.cis.get(uid)
        if ci is None:
            self.cis.update(self.store.get_cis([uid]))
            ci = self.cis.get(uid)
        return ci.attributes if ci is not None else {}

    def resolve_ref(self, ref: CIRef, field_name: str) -> str:
        token = self.token(ref)
        uid: str | None = self.ref_cache.get(token, _UNRESOLVED)
        if uid is _UNRESOLVED:
            uid = self.ref_cache[token] = self._resolve_ref_uncached(ref, field_name)
        if uid is None:
            ids = ", ".join(f"{k}={v}" for k, v in sorted(ref.identifiers.items()))
            raise InvalidItem(field_name, f"no {ref.ci_class} CI with {ids}")
        return uid

    def _resolve_ref_uncached(self, ref: CIRef, field_name: str) -> str | None:
        cls = self.schema.classes.get(ref.ci_class)
        if cls is None:
            raise InvalidItem(f"{field_name}.class", f"unknown CI class {ref.ci_class!r}")
        parent_uid = self.resolve_ref(ref.parent, f"{field_name}.parent") if ref.parent is not None else None
        values = ref_values(self.schema, cls, ref)
        keys = keys_for(cls, values, parent_uid)
        if not keys:
            raise InvalidItem(f"{field_name}.identifiers", f"no identifier rule of {cls.name!r} is satisfied")
        self.prefetch_keys(keys, whole=False)
        found, _ = self.match(keys, values, identity(self.schema, cls), whole=False)
        return found.uid if found is not None else None

    # -- CI observations --------------------------------------------------------------
    def prepare(self, obs: Observation) -> _Prepared:
        """Every check of an observation that does not depend on the rest of the batch, and its keys."""
        prepared = self.prepared.pop(id(obs), None)
        if prepared is not None:
            return prepared
        schema = self.schema
        cls = check_class(schema, obs.ci_class, "class")
        if cls.dependency is not None and obs.parent is None:
            raise InvalidItem("parent", f"class {cls.name!r} is identified within a parent: give 'parent'")
        identifiers = validate_attributes(cls, obs.identifiers, "identifiers")
        attributes = redact_attributes(cls, validate_attributes(cls, obs.attributes, "attributes"))
        values = {**attributes, **identifiers}
        observed = normalise(schema, cls, values)
        parent_uid: str | None = None
        if obs.parent is not None:
            parent_uid = self.resolve_ref(obs.parent, "parent")
            parent = self.head(parent_uid)
            if cls.dependency is not None and not any(schema.is_a(parent.ci_class, p) for p in cls.dependency.parent_classes):
                raise InvalidItem("parent.class", f"a {cls.name} cannot be inside a {parent.ci_class}")
        keys = keys_for(cls, values, parent_uid if cls.dependency else None)
        if not keys:
            raise InvalidItem("identifiers", f"no identifier rule of {cls.name!r} is satisfied by the given attributes")
        return cls, values, parent_uid, keys, observed

    def observe(self, obs: Observation) -> None:
        cls, values, parent_uid, keys, observed = self.prepare(obs)
        schema = self.schema
        self.prefetch_keys(keys)
        self.decided = False
        ci, absorbed = self.match(keys, values, identity(schema, cls))
        if self.decided:
            # A name two things share, decided by what else this observation said (the address it was
            # reached at): a reference of this batch naming it the same way (its interfaces' parent)
            # means the CI chosen here, not the one a bare name would pick.
            parent_token = self.token(obs.parent) if obs.parent is not None else None
            self.ref_cache[(obs.ci_class, tuple(obs.identifiers.items()), parent_token)] = ci.uid if ci else None
        if ci is None:
            if not schema.may_create(obs.source, cls.name):
                raise InvalidItem("class", f"source {obs.source!r} may not create {cls.name!r} CIs")
            ci = self._create(cls, values, obs, parent_uid, observed)
        else:
            self._update(ci, cls, values, obs, parent_uid, observed)
        if not obs.hearsay:
            self._hand_over(ci, keys, values, identity(schema, cls))
        for other in absorbed:  # the same thing: nothing separates it from this CI
            absorb(self, ci, other)
        self._sight(ci.uid, "ci")
        if parent_uid is not None and cls.dependency is not None:
            rel_type = cls.dependency.relationship
            self.pending.append((rel_uid(parent_uid, rel_type, ci.uid), parent_uid, rel_type, ci.uid,
                                 _NO_ATTRIBUTES, "declared", 1.0, obs.observed_at))

    def _hand_over(self, new: CI, keys: list[str], values: dict[str, Any], ident: Identity) -> None:
        """The CI an observation with a strong identifier landed on, when another CI holds its name with a strong
        identifier that disagrees (a machine rebuilt under its name): it takes over what name-only sources put
        on that CI since that CI was last seen with its own (:mod:`cmdb.handover`)."""
        strong = ident.strong
        if not strong or ident.cls.dependency is not None or not any(values.get(a) is not None for a in strong):
            return
        key_cache = self.key_cache
        for key in keys:
            if len(key_cache.get(key, ())) < 2:  # the usual case: the name is this CI's alone
                continue
            rule = ident.rules[key[:key.index("|")]]
            if rule.strength is not Strength.NAME:
                continue
            for old in self.candidates(key):
                if old.uid == new.uid or old.status is Lifecycle.RETIRED or old.uid in self.sighted \
                        or old.uid in self.run_sighted:  # seen by this run too: two live things, no replacement
                    continue
                if contradicts(values, old.attributes, strong) and not contradicts(values, old.attributes, rule.scope):
                    hand_over(self, new, old, ident)
            return  # the first name rule names the predecessor

    def _create(self, cls: CIClass, values: dict[str, Any], obs: Observation, parent_uid: str | None,
                observed: dict[str, Any] | None = None) -> CI:
        ci = CI(uid=new_uid(), ci_class=cls.name, attributes={}, created_at=self.now, updated_at=self.now,
                parent_uid=parent_uid)
        changes, _ = merge_attributes(ci, values, obs.source, obs.observed_at, self.precedence, obs.hearsay)
        if observed:
            _note_observed(changes, observed)
        changes["class"] = [None, cls.name]
        self.cis[ci.uid] = ci
        self.dirty[ci.uid] = ci
        self._register_keys(ci, cls, set())
        self._history(ci.uid, "ci", Action.CREATE, changes)
        self.report.created += 1
        return ci

    def _update(self, ci: CI, cls: CIClass, values: dict[str, Any], obs: Observation, parent_uid: str | None,
                observed: dict[str, Any] | None = None) -> None:
        schema = self.schema
        old_class = schema.cls(ci.ci_class)
        old_parent = ci.parent_uid if old_class.dependency else None
        before = dict(ci.attributes)
        changes, provenance_moved = merge_attributes(ci, values, obs.source, obs.observed_at, self.precedence,
                                                     obs.hearsay)
        if observed and changes:
            _note_observed(changes, observed)
        new_class = schema.more_specific(ci.ci_class, cls.name)
        # A subclass refines; a generic class is refined inside its family only by a
        # source with the right to say so (one that may create the new class).
        if new_class != ci.ci_class and (schema.is_a(new_class, ci.ci_class)
                                         or (not obs.hearsay and schema.may_create(obs.source, new_class))):
            changes["class"] = [ci.ci_class, new_class]
            ci.ci_class = new_class
        if ci.parent_uid is None and parent_uid is not None:
            ci.parent_uid = parent_uid
        if ci.status is not Lifecycle.ACTIVE:
            self._history(ci.uid, "ci", Action.REACTIVATE, {"status": [ci.status.value, Lifecycle.ACTIVE.value]})
            ci.status = Lifecycle.ACTIVE
            self.dirty[ci.uid] = ci
        # Volatile values (uptime, usage) are applied but are no change to record.
        volatile = self.ing.volatile_attributes(ci.ci_class) if changes else None
        recorded = {k: v for k, v in changes.items() if k not in volatile} if volatile else changes
        if recorded:
            ci.updated_at = self.now
            self._history(ci.uid, "ci", Action.UPDATE, recorded)
            old_keys = set(keys_for(old_class, before, old_parent))
            self._register_keys(ci, self.schema.cls(ci.ci_class), old_keys)
            self.dirty[ci.uid] = ci
            self.report.updated += 1
        else:
            if provenance_moved or changes:
                self.dirty[ci.uid] = ci
            self.report.unchanged += 1

    def _register_keys(self, ci: CI, cls: CIClass, old_keys: set[str]) -> None:
        new_keys = set(keys_for(cls, ci.attributes, ci.parent_uid if cls.dependency else None))
        for key in new_keys - old_keys:
            self.add_key(key, ci.uid)
        for key in old_keys - new_keys:
            self.remove_key(key, ci.uid)

    def add_key(self, key: str, uid: str) -> None:
        """``uid`` answers ``key`` from this batch on (and in the store once applied)."""
        pair = (key, uid)
        removed = self.changes.removed_keys
        if removed and pair in removed:  # removed earlier in this batch: the store still has it
            removed.remove(pair)
        else:
            self.changes.keys.append(pair)
            self.added_keys.add(pair)
        holders = self.key_cache.setdefault(key, [])
        if uid not in holders:
            holders.append(uid)

    def remove_key(self, key: str, uid: str) -> None:
        """``uid`` no longer answers ``key``. The store applies removals before additions, so a
        key this batch added (a CI created, then absorbed by a merge) is taken out of the additions."""
        pair = (key, uid)
        if pair in self.added_keys:  # rare: a key added and taken back within one batch
            self.added_keys.discard(pair)
            added = self.changes.keys
            while pair in added:
                added.remove(pair)
        else:
            self.changes.removed_keys.append(pair)
        holders = self.key_cache.get(key)
        if holders is not None and uid in holders:
            holders.remove(uid)

    # -- relationships ---------------------------------------------------------------
    def relate(self, item: ObservedRelation) -> None:
        """Validate one observed relationship and queue it; ``flush_relations`` applies the queue."""
        if item.type not in self.schema.relationships:
            raise InvalidItem("type", f"unknown relationship type {item.type!r}")
        source_uid = self.resolve_ref(item.from_ci, "from")
        target_uid = self.resolve_ref(item.to_ci, "to")
        if source_uid == target_uid:
            raise InvalidItem("to", "a relationship needs two different CIs")
        src_cls, dst_cls = self.head(source_uid).ci_class, self.head(target_uid).ci_class
        if not self.schema.allows(item.type, src_cls, dst_cls):
            raise InvalidItem("type", f"{item.type} is not allowed from {src_cls!r} to {dst_cls!r}")
        attrs = item.attributes
        attributes = redact_relation_attributes({k: v for k, v in attrs.items() if v is not None}) if attrs else _NO_ATTRIBUTES
        evidence = item.evidence
        # _value_: the value without Enum.value's descriptor call, once per relationship.
        self.pending.append((rel_uid(source_uid, item.type, target_uid), source_uid, item.type, target_uid,
                             attributes, evidence.method._value_, evidence.confidence, item.observed_at))

    def flush_relations(self) -> None:
        """Apply queued relationships, loading the existing ones in one store call."""
        wanted = {p[0] for p in self.pending}
        missing = [u for u in wanted if u not in self.rels]
        if missing:
            self.rels.update(self.store.get_relationships(missing))
        for pending in self.pending:
            self._relate(pending)
        self.pending.clear()

    def _relate(self, p: _PendingRel) -> None:
        uid, source_uid, rel_type, target_uid, attributes, method, confidence, observed_at = p
        rel = self.rels.get(uid)
        set_names = self.schema.relationships[rel_type].set_attributes
        if set_names and attributes:
            attributes = union_set_attributes(attributes, set_names, rel.attributes if rel is not None else {})
        source = self.run.source
        if rel is None:
            rel = Relationship(
                uid=uid, type=rel_type, source_uid=source_uid, target_uid=target_uid, attributes=dict(attributes),
                evidence=RelEvidence([source], observed_at, observed_at, 1, method, confidence),
                last_run=self.run.run_id,
            )
            self.rels[uid] = rel
            self.dirty_rels[uid] = rel
            self._history(uid, "rel", Action.CREATE,
                          {"type": [None, rel_type], **{k: [None, v] for k, v in attributes.items()}})
            self.report.relationships_created += 1
        else:
            new_run = rel.last_run != self.run.run_id
            evidence = merge_evidence(rel.evidence, source, method, confidence, observed_at, new_run)
            changes = ({k: [rel.attributes.get(k), v] for k, v in attributes.items() if rel.attributes.get(k) != v}
                       if attributes else None)
            dirty = new_run or bool(changes) or evidence != rel.evidence
            if rel.status is not Lifecycle.ACTIVE:
                self._history(uid, "rel", Action.REACTIVATE, {"status": [rel.status.value, Lifecycle.ACTIVE.value]})
                rel.status = Lifecycle.ACTIVE
                dirty = True
            if changes:
                rel.attributes.update(attributes)
                self._history(uid, "rel", Action.UPDATE, changes)
                self.report.relationships_updated += 1
            else:
                self.report.relationships_unchanged += 1
            rel.evidence = evidence
            rel.last_run = self.run.run_id
            if dirty:
                self.dirty_rels[uid] = rel
        self._sight(uid, "rel")

    # -- bookkeeping -------------------------------------------------------------------
    def _sight(self, uid: str, kind: str) -> None:
        if uid in self.sighted or uid in self.run_sighted:  # CI and relationship uids never collide
            return
        self.sighted.add(uid)
        self.changes.sightings.append(Sighting(uid, kind, self.run.source, self.run.scope, self.run.run_id, self.now))

    def _history(self, uid: str, kind: str, action: Action, changes: dict[str, list[Any]]) -> None:
        self.changes.history.append(HistoryEntry(uid, kind, action, changes, self.run.source, self.run.run_id, self.now))

    def changeset(self) -> ChangeSet:
        self.changes.cis = list(self.dirty.values())
        self.changes.relationships = list(self.dirty_rels.values())
        return self.changes


def _note_observed(changes: dict[str, list[Any]], observed: dict[str, Any]) -> None:
    """History shows a value as observed beside the one stored, where normalising changed it: [before, after, observed]."""
    for name, raw in observed.items():
        change = changes.get(name)
        if change is not None:
            changes[name] = [change[0], change[1], raw]


def ref_values(schema: Schema, cls: CIClass, ref: CIRef) -> dict[str, Any]:
    """A reference's identifiers normalised as observations' values are, so that both give one key."""
    values = dict(ref.identifiers)
    normalise(schema, cls, values)
    return values

DEFAULT_RUN_LEASE_MS = 3_600_000  # a run of another machine silent this long is abandoned
_IDENTITY_RETRIES = 5  # times a batch is identified again after an IdentityConflict


class Ingestor:
    """Runs scan runs: start, ingest batches, finish (aging only after a complete run).

    Callers open a run with :meth:`run`, the one context manager that starts and
    ends every run on every exit path; ``start_run`` and ``finish_run`` are its parts.
    """

    def __init__(
        self,
        store: GraphStore,
        schema: Schema,
        clock: Callable[[], int] = now_ms,
        listeners: Sequence[Listener] = (),
        batch_size: int = 2000,
        aging_batch_size: int = 1000,
        run_lease_ms: int = DEFAULT_RUN_LEASE_MS,
    ) -> None:
        self.store = store
        self.schema = schema
        self.clock = clock
        self.listeners = list(listeners)
        self.batch_size = batch_size
        self.aging_batch_size = aging_batch_size
        self.run_lease_ms = run_lease_ms
        self._sighted_in_run: dict[str, set[str]] = {}  # run id -> uids its committed batches sighted
        self._reference_keys: dict[tuple[Any, ...], list[str]] = {}  # see reference_keys()
        self._swept_at: int | None = None  # when close_abandoned_runs last looked
        self._owner = current_owner()
        self._volatile: dict[str, frozenset[str]] = {}  # class -> its volatile attributes

    def run(self, source: str, scope: str, job: str | None = None,
            job_run: str | None = None) -> contextlib.AbstractContextManager[ActiveRun]:
        """Open a scan run for the ``with`` block: the only way a run starts and ends.

        The block ingests through the :class:`cmdb.runs.ActiveRun` it gets and says
        what it could not cover (``incomplete``). Leaving the block finishes the run:
        complete when nothing was reported missing and no item was rejected, else
        incomplete with the reasons; an exception, a cancellation or an interrupt
        (Ctrl-C, a signal turned into an exception) ends it incomplete with that reason.
        ``job_run``: the id of the job run (``cmdb.job_runs``) this run is one scope of.
        """
        from cmdb.runs import open_run  # cmdb.runs builds on this module

        return open_run(self, source, scope, job, job_run)

    def close_abandoned_runs(self) -> list[ScanRun]:
        """Close as ``abandoned`` the runs that will never finish (see :mod:`cmdb.runs`); returns them."""
        from cmdb.runs import close_abandoned

        now = self.clock()
        self._swept_at = now
        return close_abandoned(self.store, now, self.run_lease_ms, set(self._sighted_in_run))

    def volatile_attributes(self, ci_class: str) -> frozenset[str]:
        """The attributes of ``ci_class`` the catalog marks volatile (current values, no history)."""
        names = self._volatile.get(ci_class)
        if names is None:
            attributes = self.schema.cls(ci_class).attributes.values()
            names = self._volatile[ci_class] = frozenset(a.name for a in attributes if a.volatile)
        return names

    def reference_keys(self, token: tuple[Any, ...], cls: CIClass, ref: CIRef) -> list[str]:
        """The identification keys of a reference without a parent, remembered across batches.

        A reference's keys depend on nothing but its class and identifiers (its token),
        and the same CIs are referred to batch after batch. Do not modify the list.
        """
        keys = self._reference_keys.get(token)
        if keys is None:
            if len(self._reference_keys) >= _REFERENCE_KEYS_KEPT:
                self._reference_keys.clear()
            keys = self._reference_keys[token] = keys_for(cls, ref_values(self.schema, cls, ref), None)
        return keys

    def start_run(self, source: str, scope: str, job: str | None = None, job_run: str | None = None) -> ScanRun:
        """Record a new run (use :meth:`run`); the first one, and one per quarter lease, closes abandoned runs."""
        self.schema.source(source)  # unknown source -> UnknownName
        now = self.clock()
        if self._swept_at is None or now - self._swept_at > self.run_lease_ms // 4:
            self.close_abandoned_runs()
        run = ScanRun(run_id=new_uid(), source=source, scope=scope, started_at=now, job=job,
                      owner=self._owner, heartbeat_at=now, job_run_id=job_run)
        self.store.save_run(run)
        self._sighted_in_run[run.run_id] = set()
        return run

    def ingest(self, run: ScanRun, items: Iterable[Item | dict[str, Any]]) -> IngestReport:
        """Identify, reconcile and apply ``items`` in batches; bad items are reported, not applied."""
        if run.status is not RunStatus.RUNNING:
            raise RunStateError(f"run {run.run_id} is {run.status.value}; start a new run")
        report = IngestReport()
        iterator = iter(items)
        offset = 0
        # The cyclic collector is paused for the whole call: a full collection walks
        # every object of the process (a scanner's materialised scope included), and
        # between batches one was due every few batches.
        with gc_paused():
            while True:
                chunk = list(islice(iterator, self.batch_size))
                if not chunk:
                    break
                self._heartbeat(run)
                report.add(self._ingest_batch(run, chunk, offset))
                offset += len(chunk)
        for key, value in report.as_counts().items():
            run.counts[key] = run.counts.get(key, 0) + value
        run.errors.extend(str(e) for e in report.rejected[:1000])
        run.heartbeat_at = self.clock()
        self.store.save_run(run)
        if report.rejected:
            events.warning("items_rejected", run_id=run.run_id, source=run.source, scope=run.scope,
                           rejected=len(report.rejected), first=str(report.rejected[0]))
        return report

    def _heartbeat(self, run: ScanRun) -> None:
        """Between batches, now and then: show the run's owner alive, and stop if a writer closed the run as abandoned."""
        now = self.clock()
        if run.heartbeat_at is not None and now - run.heartbeat_at < self.run_lease_ms // 10:
            return
        stored = self.store.get_run(run.run_id)
        if stored is not None and stored.status is RunStatus.ABANDONED:
            raise RunStateError(f"run {run.run_id} was closed as abandoned (silent longer than its lease)")
        run.heartbeat_at = now
        self.store.save_run(run)

    def _ingest_batch(self, run: ScanRun, chunk: list[Item | dict[str, Any]], offset: int) -> IngestReport:
        """Parse a chunk, then identify and apply it in one write transaction of the store.

        The key lookups and the write happen under ``store.write_batch()``, so two
        processes ingesting the same things cannot both find them missing and both
        create them. A store that detects such a race only at the write raises
        ``IdentityConflict`` having written nothing; the batch is identified again.
        """
        rejected: list[ItemError] = []
        parsed = self._parse_chunk(run, chunk, offset, rejected)
        for attempt in range(_IDENTITY_RETRIES + 1):
            try:
                with self.store.write_batch():
                    batch = self._identify_batch(run, parsed, rejected)
                    changes = batch.changeset()
                    if changes:
                        self.store.apply(changes)
                break
            except IdentityConflict as exc:
                if attempt == _IDENTITY_RETRIES:
                    raise
                events.info("identity_conflict_retry", run_id=run.run_id, key=exc.key, attempt=attempt + 1)
        if changes:
            self._sighted_in_run.setdefault(run.run_id, set()).update(batch.sighted)  # the uids of changes.sightings
            for listener in self.listeners:
                try:
                    listener(changes)
                except Exception:  # a listener must never lose a committed batch
                    log.exception("ingest listener failed")
        batch.report.rejected.sort(key=lambda e: e.index)
        return batch.report

    @staticmethod
    def _parse_chunk(run: ScanRun, chunk: list[Item | dict[str, Any]], offset: int,
                     rejected: list[ItemError]) -> list[tuple[int, Item]]:
        """The chunk's items checked for shape and run (outside the write transaction); failures go to ``rejected``."""
        parsed: list[tuple[int, Item]] = []
        for i, raw in enumerate(chunk):
            index = offset + i
            try:
                # The exact classes first: isinstance() on a pydantic model class goes
                # through ABCMeta's check, ~0.3 us per item.
                if type(raw) is Observation or type(raw) is ObservedRelation:
                    item = raw
                else:
                    item = raw if isinstance(raw, (Observation, ObservedRelation)) else parse_item(raw)
            except ValidationError as exc:
                first = exc.errors()[0]
                field_name = ".".join(str(p) for p in first["loc"]) or "item"
                rejected.append(ItemError(index, field_name, first["msg"]))
                continue
            if item.source != run.source or item.scope != run.scope:
                rejected.append(ItemError(
                    index, "source" if item.source != run.source else "scope",
                    f"item is from {item.source}/{item.scope}, run is {run.source}/{run.scope}"))
                continue
            parsed.append((index, item))
        return parsed

    def _identify_batch(self, run: ScanRun, parsed: list[tuple[int, Item]], rejected: list[ItemError]) -> _Batch:
        """Identify and reconcile parsed items against the store: the batch, its ChangeSet ready."""
        batch = _Batch(self, run, self.clock())
        batch.report.rejected.extend(rejected)
        # Parents before children, CIs before relationships, so references resolve in
        # one pass; each level's identification keys are looked up in one store call.
        # Every check of an item happens before it changes any state, so a rejected
        # item leaves nothing behind.
        by_depth: dict[int, list[tuple[int, Observation]]] = {}
        relations: list[tuple[int, ObservedRelation]] = []
        for index, item in parsed:
            if item.kind == "ci":  # an Observation (the discriminator is cheaper than isinstance())
                by_depth.setdefault(_ref_depth(item.parent), []).append((index, item))
            else:
                relations.append((index, item))
        for depth in sorted(by_depth):
            group = by_depth[depth]
            self._prefetch_observations(batch, [it for _, it in group])
            for index, obs in group:
                try:
                    batch.observe(obs)
                except InvalidItem as exc:
                    batch.report.rejected.append(ItemError(index, exc.field, exc.message))
        self._prefetch_refs(batch, [r for _, it in relations for r in (it.from_ci, it.to_ci)])
        for index, rel in relations:
            try:
                batch.relate(rel)
            except InvalidItem as exc:
                batch.report.rejected.append(ItemError(index, exc.field, exc.message))
        batch.flush_relations()
        return batch

    @staticmethod
    def _prefetch_observations(batch: _Batch, observations: list[Observation]) -> None:
        """Check a whole level of observations and look up their identification keys at once.

        An observation that fails a check is left for ``observe`` to report.
        """
        keys: list[str] = []
        for obs in observations:
            try:
                prepared = batch.prepare(obs)
            except InvalidItem:
                continue
            batch.prepared[id(obs)] = prepared
            keys.extend(prepared[3])  # its identification keys
        batch.prefetch_keys(keys)

    @staticmethod
    def _prefetch_refs(batch: _Batch, refs: list[CIRef]) -> None:
        """Resolve relationship endpoints level by level (parents first), one store call per level."""
        unique: dict[tuple[Any, ...], CIRef] = {}
        for ref in refs:
            token = batch.token(ref)
            if token not in unique and token not in batch.ref_cache:
                unique[token] = ref
        nested = [r for r in unique.values() if r.parent is not None]
        level: list[tuple[tuple[Any, ...], list[str], CIRef, CIClass]] = []
        for token, ref in unique.items():
            cls = batch.schema.classes.get(ref.ci_class)
            if cls is not None and ref.parent is None:
                level.append((token, batch.ing.reference_keys(token, cls, ref), ref, cls))
        Ingestor._resolve_refs(batch, level)
        if nested:
            Ingestor._prefetch_refs(batch, [r.parent for r in nested if r.parent is not None])
            level = []
            for ref in nested:
                cls = batch.schema.classes.get(ref.ci_class)
                if cls is None or ref.parent is None:
                    continue
                try:
                    parent_uid = batch.resolve_ref(ref.parent, "parent")
                except InvalidItem:
                    continue
                level.append((batch.token(ref), keys_for(cls, ref_values(batch.schema, cls, ref), parent_uid), ref, cls))
            Ingestor._resolve_refs(batch, level)

    @staticmethod
    def _resolve_refs(batch: _Batch, refs: list[tuple[tuple[Any, ...], list[str], CIRef, CIClass]]) -> None:
        """Resolve references given as (token, keys, reference, class) after one lookup of all their keys.

        What ``_Batch.resolve_ref`` would answer for each, without its per-reference
        lookup; a reference without keys is left to it (it reports the error).
        """
        # References that carry what a match must not contradict (a second strong identifier,
        # a name's scope: an SNMP device named by serial, chassis id and name) are checked
        # against the CIs' values: those are loaded whole, in the same one call per level.
        checked = [keys for _, keys, ref, cls in refs if identity(batch.schema, cls).checks(ref.identifiers)]
        if checked:
            batch.prefetch_keys([key for keys in checked for key in keys], whole=True)
        batch.prefetch_keys([key for _, keys, _, _ in refs for key in keys], whole=False)
        for token, keys, ref, cls in refs:
            if keys:
                found, _ = batch.match(keys, ref.identifiers, identity(batch.schema, cls), whole=False)
                batch.ref_cache[token] = found.uid if found is not None else None

    def apply_changes(self, run: ScanRun, changes: ChangeSet) -> None:
        """Apply a ChangeSet made outside identification (a manual retire) in ``run``, and tell the listeners."""
        if run.status is not RunStatus.RUNNING:
            raise RunStateError(f"run {run.run_id} is {run.status.value}; start a new run")
        self.store.apply(changes)
        self._notify(changes)

    def finish_run(self, run: ScanRun, complete: bool, errors: Iterable[str] = (), silent: bool = False) -> ScanRun:
        """Close a run (use :meth:`run`). Only a complete run ages what its scope no longer sees.

        ``silent``: an incomplete run whose target did not answer at all; what its
        scope holds still goes stale past its class's TTL (by time since anyone last
        saw it), never by missed runs.
        """
        if run.status is not RunStatus.RUNNING:
            raise RunStateError(f"run {run.run_id} is already {run.status.value}")
        stored = self.store.get_run(run.run_id)
        if stored is not None and stored.status is RunStatus.ABANDONED:
            # Another writer gave up on this run (its lease ran out): its sightings were
            # taken back, and it must not age anything now.
            self._sighted_in_run.pop(run.run_id, None)
            events.warning("scan_run_was_abandoned", run_id=run.run_id, source=run.source, scope=run.scope)
            return stored
        run.errors.extend(errors)
        if not complete and silent:
            with gc_paused():
                by_ttl = age_scope(self.store, self.schema, run, self.clock(), self.aging_batch_size,
                                   self._notify, ttl_only=True)
            run.counts["stale"] = by_ttl.staled
        if complete:
            with gc_paused():
                aging: AgingReport = age_scope(self.store, self.schema, run, self.clock(), self.aging_batch_size,
                                               self._notify)
            run.counts["stale"] = aging.staled
            run.counts["retired"] = aging.retired
        run.status = RunStatus.COMPLETE if complete else RunStatus.INCOMPLETE
        run.finished_at = self.clock()
        self.store.save_run(run)
        self._sighted_in_run.pop(run.run_id, None)
        events.info("scan_run_finished", run_id=run.run_id, source=run.source, scope=run.scope, job=run.job,
                    status=run.status.value, errors=len(run.errors), **run.counts)
        checkpoint = getattr(self.store, "checkpoint", None)
        if callable(checkpoint):
            checkpoint()
        return run

    def _notify(self, changes: ChangeSet) -> None:
        for listener in self.listeners:
            try:
                listener(changes)
            except Exception:
                log.exception("ingest listener failed")
