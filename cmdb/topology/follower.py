"""ChangeFollower: keeps a process's topology index current from the store's change feed.

Used when the index must also see what *other* processes write: each API worker
of ``cmdb serve --workers N`` follows the feed, and so does a server that runs
beside ``cmdb ingest`` or a scheduler in another process. Entries are applied in
commit order, each holding the current state of the rows it names, so replaying
an entry twice is harmless and the index ends where the store is. The process's
own writes go the same way (the ingest listener is :meth:`ChangeFollower.after_apply`),
which keeps one order for everything.

Should the entries after the follower's position have been pruned (a follower
idle past the retention), it reloads the index from the store, then replays
what was written during the reload.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from cmdb.model import ChangeSet
from cmdb.store.change_feed import ChangeFeedStore
from cmdb.store.protocol import GraphStore
from cmdb.topology.index import TopologyIndex
from schema import Schema

log = logging.getLogger(__name__)


class FeedGraphStore(GraphStore, ChangeFeedStore, Protocol):
    """A GraphStore with a change feed."""


class ChangeFollower:
    """Replays a store's change feed into a topology index; every method is safe from any thread."""

    def __init__(self, store: FeedGraphStore, schema: Schema, index: TopologyIndex, position: int,
                 page: int = 100) -> None:
        self.store = store
        self.schema = schema
        self.index = index
        self.position = position  # the seq of the last entry applied
        self.page = page
        self.reloads = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def load(cls, store: FeedGraphStore, schema: Schema, compact_threshold: int | None = None) -> ChangeFollower:
        """Load the index from the store and follow the feed from there.

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
                entries = self.store.read_change_feed(self.position, self.page)
                if not entries or entries[0].seq != self.position + 1:
                    newest = self._reload()
                    continue
                for entry in entries:
                    self.index.apply_rows(entry.nodes, entry.edges)
                    self.position = entry.seq
                applied += len(entries)
            if newest < self.position:  # the feed restarted (e.g. the file was replaced): start over
                self._reload()
            return applied

    def after_apply(self, changes: ChangeSet) -> None:
        """Ingest listener: this process's own batch reaches the index through the feed, in order.

        Should the feed have been turned off, the batch is applied directly: this process
        then still sees its own writes (no longer the others').
        """
        if self.catch_up() == 0 and not self.store.change_feed_enabled():
            self.index.apply(changes)

    def _reload(self) -> int:
        position = self.store.change_feed_position()
        log.warning("change feed: entries after %d are gone (pruned or reset); reloading the topology index",
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
                log.exception("change feed: catching up failed")
