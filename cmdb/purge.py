"""Purge: delete CIs that have been retired for long enough, keeping their history.

Retired CIs stay in the graph (with their history) so that "what was this and
when did it go" is answerable; after a retention period an operator purges them.
Each purged CI and every relationship touching it gets a ``delete`` history
entry; identification keys and sightings go with it. Work runs in bounded pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cmdb.model import Action, ChangeSet, CIQuery, HistoryEntry, Lifecycle
from cmdb.store.protocol import Direction, GraphStore

_DAY_MS = 86_400_000


@dataclass(slots=True)
class PurgeReport:
    cis: list[str] = field(default_factory=list)
    relationships: int = 0


def purge_retired(store: GraphStore, now: int, retired_for_days: float, source: str = "manual",
                  batch_size: int = 500, dry_run: bool = False) -> PurgeReport:
    """Delete CIs retired more than ``retired_for_days`` ago (by their last update)."""
    cutoff = now - int(retired_for_days * _DAY_MS)
    report = PurgeReport()
    after: str | None = None
    while True:
        page = store.search(CIQuery(statuses=(Lifecycle.RETIRED,), after=after, limit=batch_size))
        doomed = [ci for ci in page.items if ci.updated_at <= cutoff]
        if doomed:
            uids = [ci.uid for ci in doomed]
            rels = store.neighbours(uids, Direction.BOTH, include_inactive=True)
            report.cis.extend(uids)
            report.relationships += len(rels)
            if not dry_run:
                changes = ChangeSet(deleted=[("rel", r.uid) for r in rels] + [("ci", u) for u in uids])
                for rel in rels:
                    changes.history.append(HistoryEntry(rel.uid, "rel", Action.DELETE,
                                                        {"status": [rel.status.value, None]}, source, None, now))
                for ci in doomed:
                    changes.history.append(HistoryEntry(ci.uid, "ci", Action.DELETE,
                                                        {"status": [ci.status.value, None]}, source, None, now))
                store.apply(changes)
        if not page.has_next:
            break
        after = page.end_cursor
    return report
