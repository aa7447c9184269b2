"""ChangeFollower: keeps a process's topology index current from the store's change log.

Every API process follows the log (each worker of ``cmdb serve --workers N``, each
replica behind a load balancer), so it sees what *any* process writes: another
replica, ``cmdb ingest``, a scheduler, a collector batch. Entries are applied in
commit order, each holding the current state of the rows it names, so replaying
an entry twice is harmless and the index ends where the store is. The process's
own writes go the same way (the ingest listener is :meth:`ChangeFollower.after_apply`,
which only catches up on the log): one path and one order for everything.

Should the store answer "reload whole" (:class:`~cmdb.store.change_feed.ReloadWhole`:
the entries after the follower's position were pruned, a follower idle past the
retention), it reloads the index from the store, then replays what was written
during the reload.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from cmdb.model import ChangeSet
from cmdb.store.change_feed import ChangeFeedStore, ReloadWhole
from cmdb.store.protocol import GraphStore
from cmdb.topology.index import TopologyIndex
from schema import Schema

log = logging.getLogger(__name__)


class FeedGraphStore(GraphStore, ChangeFeedStore, Protocol):
    """A GraphStore with a change log (every store)."""


class ChangeFollower:
    """Replays a store's change log into a topology index; every method is safe from any thread."""

    def __init__(self, store: FeedGraphStore, schema: Schema, index: TopologyIndex, position: int,
                 page: int = 100) -> None:
        self.store = store
        self.schema = schema
        self.index = index
        self.position = position  # the seq of the last entry applied
        self.page = page
        self.reloads = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified after each catch-up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def load(cls, store: FeedGraphStore, schema: Schema, compact_threshold: int | None = None) -> ChangeFollower:
        """Load the index from the store and follow the log from there.

        The position is read before the load: an entry committed during it is
        replayed once the load is done (its rows may already be in the index).
        """
        position = store.change_feed_position()
        follower = cls(store, schema, TopologyIndex.load(store, schema, compact_threshold), position)
        follower.catch_up()
        return follower

    def catch_up(self) -> int:
        """Apply every entry written since the last call; how many. Cheap when there is none (one query)."""
        with self._lock:
            newest = self.store.change_feed_position()
            if newest == self.position:
                return 0
            applied = 0
            while self.position < newest:
                try:
                    entries = self.store.read_change_feed(self.position, self.page)
                except ReloadWhole:
                    newest = self._reload()
                    continue
                for entry in entries:
                    self.index.apply_rows(entry.nodes, entry.edges)
                    self.position = entry.seq
                applied += len(entries)
                if not entries:
                    break
            if newest < self.position:  # the log restarted (e.g. the file was replaced): start over
                self._reload()
            self._changed.notify_all()
            return applied

    def after_apply(self, changes: ChangeSet) -> None:
        """Ingest listener: this process's own batch reaches the index through the log, in order."""
        self.catch_up()

    def wait_for(self, position: int, timeout: float, interval: float = 0.02) -> bool:
        """Catch up until at ``position`` or later (True), or ``timeout`` seconds passed (False).

        For a request that must see a given write (read-your-writes across replicas):
        the write may still be committing, or this replica's store be a lagging cluster member.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.catch_up()
            if self.position >= position:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._lock:
                self._changed.wait(min(interval, left))

    def _reload(self) -> int:
        position = self.store.change_feed_position()
        log.warning("change log: entries after %d are gone (pruned or reset); reloading the topology index whole",
                    self.position)
        self.index.replace(TopologyIndex.load(self.store, self.schema))
        self.position = position
        self.reloads += 1
        return self.store.change_feed_position()

    # -- in the background ------------------------------------------------------------
    def follow(self, interval: float = 1.0) -> None:
        """Also catch up every ``interval`` seconds on a daemon thread (an idle process stays current)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(interval,), name="cmdb-change-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.catch_up()
            except Exception:  # a locked or briefly unavailable store: try again next time
                log.exception("change log: catching up failed")
