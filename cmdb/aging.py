"""Aging: what a scope's complete runs no longer see becomes stale, then retired.

Called only at the end of a complete run. Each item keeps, per (source, scope),
the number of consecutive complete runs that missed it; an item ages by the
smallest count over all its sightings, so a CI that AWS still sees does not age
because SSH stopped seeing it. Work is done in bounded pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cmdb.model import Action, ChangeSet, HistoryEntry, Lifecycle, ScanRun
from cmdb.store.protocol import AgingCandidate, GraphStore
from schema import Aging, Schema

_DAY_MS = 86_400_000
RELATIONSHIP_AGING = Aging(stale_after_runs=2, retire_after_runs=4)


@dataclass(slots=True)
class AgingReport:
    staled: int = 0
    retired: int = 0


def lifecycle_for(candidate: AgingCandidate, policy: Aging, now: int) -> Lifecycle:
    """The status an item should have given its missed-run count and last sighting."""
    if candidate.min_missed >= policy.retire_after_runs:
        return Lifecycle.RETIRED
    if candidate.min_missed >= policy.stale_after_runs:
        return Lifecycle.STALE
    if policy.ttl_days is not None and now - candidate.last_seen > policy.ttl_days * _DAY_MS:
        return Lifecycle.STALE
    return Lifecycle.ACTIVE


def age_scope(
    store: GraphStore,
    schema: Schema,
    run: ScanRun,
    now: int,
    batch_size: int,
    notify: Callable[[ChangeSet], None] | None = None,
    ttl_only: bool = False,
) -> AgingReport:
    """Age everything in ``run``'s scope that ``run`` (complete) did not see.

    ``ttl_only``: ``run`` is incomplete because its target was silent; nothing
    counts a missed run, but what nobody has seen for longer than its class's TTL
    goes stale.
    """
    report = AgingReport()
    if ttl_only:
        if not any(c.aging.ttl_days is not None for c in schema.classes.values()):
            return report
    elif not store.mark_missed(run.source, run.scope, run.run_id):
        return report  # the run saw everything its scope holds: no candidates to page through
    after: str | None = None
    while True:
        page = store.aging_candidates(run.source, run.scope, run.run_id, after, batch_size)
        if not page:
            break
        after = page[-1].subject_uid
        changes = ChangeSet()
        moves: dict[str, tuple[str, Lifecycle]] = {}
        for cand in page:
            policy = schema.cls(cand.ci_class).aging if cand.ci_class in schema.classes else RELATIONSHIP_AGING
            target = lifecycle_for(cand._replace(min_missed=0) if ttl_only else cand, policy, now)
            # Aging only moves forward; a sighting (in ingest) is what reactivates.
            order = [Lifecycle.ACTIVE, Lifecycle.STALE, Lifecycle.RETIRED]
            if order.index(target) > order.index(Lifecycle(cand.status)):
                moves[cand.subject_uid] = (cand.subject_kind, target)
        ci_uids = [u for u, (k, _) in moves.items() if k == "ci"]
        rel_uids = [u for u, (k, _) in moves.items() if k == "rel"]
        cis = store.get_cis(ci_uids) if ci_uids else {}
        rels = store.get_relationships(rel_uids) if rel_uids else {}
        for uid, (kind, target) in moves.items():
            item = cis.get(uid) if kind == "ci" else rels.get(uid)
            if item is None:
                continue
            before = item.status
            item.status = target
            action = Action.RETIRE if target is Lifecycle.RETIRED else Action.STALE
            changes.history.append(HistoryEntry(uid, kind, action, {"status": [before.value, target.value]},
                                                run.source, run.run_id, now))
            if kind == "ci":
                item.updated_at = now  # type: ignore[union-attr]  # kind "ci": a CI from get_cis
                changes.cis.append(item)  # type: ignore[arg-type]  # kind "ci": a CI from get_cis
            else:
                changes.relationships.append(item)  # type: ignore[arg-type]  # kind "rel": a Relationship
            if target is Lifecycle.RETIRED:
                report.retired += 1
            else:
                report.staled += 1
        if changes:
            store.apply(changes)
            if notify is not None:
                notify(changes)
        if len(page) < batch_size:
            break
    return report
