"""Apply ingest batches in the background while the next batch is built.

Building a batch is Python work (identify, reconcile); applying it is mostly the
store's own work (SQLite's B-trees run without the GIL). With one batch in
flight at a time, the two overlap on two cores. The next batch must still see
the one in flight as if it were committed, whatever the store returns while the
commit is under way: ``InFlight`` is that view, laid over every store read the
batch makes. Batches still commit one at a time, in order, each atomically, and
``Ingestor.ingest`` returns only when its last batch has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor

from cmdb.model import CI, ChangeSet, Relationship
from cmdb.store.protocol import GraphStore

log = logging.getLogger(__name__)


class InFlight:
    """A submitted ChangeSet, as reads must see it until (and after) it commits."""

    def __init__(self, changes: ChangeSet) -> None:
        self.changes = changes
        self._cis = {ci.uid: ci for ci in changes.cis}
        self._rels = {rel.uid: rel for rel in changes.relationships}
        self._deleted = {uid for _, uid in changes.deleted}
        self._added: dict[str, list[str]] = {}
        for key, uid in changes.keys:
            self._added.setdefault(key, []).append(uid)
        self._removed: dict[str, set[str]] = {}
        for key, uid in changes.removed_keys:
            self._removed.setdefault(key, set()).add(uid)

    def keys(self, asked: Collection[str], found: dict[str, list[str]]) -> dict[str, list[str]]:
        """``found`` (a store answer for ``asked``) as it is once this batch commits.

        Same order of operations as the stores' apply: removals, then additions.
        """
        result = dict(found)
        for key in asked:
            removed, added = self._removed.get(key), self._added.get(key)
            if removed is None and added is None:
                continue
            uids = [u for u in result.get(key, ()) if not removed or u not in removed]
            uids.extend(u for u in added or () if u not in uids)
            uids = [u for u in uids if u not in self._deleted]
            if uids:
                result[key] = uids
            else:
                result.pop(key, None)
        return result

    def cis(self, asked: Collection[str], found: dict[str, CI]) -> dict[str, CI]:
        """``found`` with this batch's CIs laid over it, as copies the caller may change."""
        result = dict(found)
        for uid in asked:
            ci = self._cis.get(uid)
            if ci is not None:
                result[uid] = CI(ci.uid, ci.ci_class, dict(ci.attributes), dict(ci.provenance), ci.status,
                                 ci.created_at, ci.updated_at, ci.parent_uid, ci.duplicate_of)
            elif uid in self._deleted:
                result.pop(uid, None)
        return result

    def relationships(self, asked: Collection[str], found: dict[str, Relationship]) -> dict[str, Relationship]:
        result = dict(found)
        for uid in asked:
            rel = self._rels.get(uid)
            if rel is not None:  # evidence is replaced, never changed in place: shared safely
                result[uid] = Relationship(rel.uid, rel.type, rel.source_uid, rel.target_uid, dict(rel.attributes),
                                           rel.evidence, rel.status, rel.last_run)
            elif uid in self._deleted:
                result.pop(uid, None)
        return result


class BackgroundApplier:
    """The batches of one ingest call, one at a time in flight; ``wait`` surfaces the outcome.

    The worker pool may be shared by concurrent ingest calls: each call keeps its
    own batch in flight and its own view of it.
    """

    def __init__(self, store: GraphStore, pool: ThreadPoolExecutor, on_applied: Callable[[ChangeSet], None],
                 on_failed: Callable[[ChangeSet], None]) -> None:
        self._store = store
        self._pool = pool
        self._on_applied = on_applied
        self._on_failed = on_failed
        self._future: Future[None] | None = None
        self.in_flight: InFlight | None = None

    def submit(self, changes: ChangeSet) -> None:
        self.wait()
        self.in_flight = InFlight(changes)
        self._future = self._pool.submit(self._store.apply, changes)

    def wait(self) -> None:
        """Block until the batch in flight has committed; raise its error if it failed."""
        future, in_flight = self._future, self.in_flight
        if future is None or in_flight is None:
            return
        self._future = self.in_flight = None
        try:
            future.result()
        except BaseException:
            self._on_failed(in_flight.changes)
            raise
        self._on_applied(in_flight.changes)

    def abandon(self) -> None:
        """Wait for the batch in flight without raising (the caller is already failing)."""
        try:
            self.wait()
        except BaseException:
            log.exception("a batch applied in the background failed while the ingest was failing")
