"""The Cypher store's change log (see ``cmdb.store.change_feed``): one node per applied ChangeSet.

A head node (``CmdbChangeLog``) holds the newest position; each entry is a
``CmdbChange`` node (position, epoch-ms time, the rows as a JSON string). Both
live with the topology (FalkorDB keeps them in the topology graph), so the entry
is written by the same query, or the same Neo4j transaction, as the CIs and
relationships it names.

The append is the last statement of the ChangeSet's write: its ``SET`` on the
head takes the head's write lock on Neo4j, held until commit, so a concurrent
writer waits there and then reads this one's position (read committed): positions
are unique, consecutive and in commit order, and a rolled-back write gives its
position back. Only the end of each write is serialised, not the identification
and the upserts before it. FalkorDB runs one write query at a time per graph.
Pruning runs after the append, under the same lock, in bounded batches.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from cmdb.model import ChangeSet
from cmdb.store.change_feed import RETENTION_MS, FeedEntry, checked_page, decode, encode, topology_rows
from cmdb.store.cypher.change_log_statements import APPEND, POSITION, PRUNE, PRUNE_BATCH, READ
from cmdb.store.cypher.statements import TOPOLOGY
from cmdb.store.cypher.transport import CypherTransport, Unit


def log_units(changes: ChangeSet, retention_ms: int) -> list[Unit]:
    """The statements appending ``changes``' entry (and pruning), to run last in its write; [] if none."""
    if not (changes.cis or changes.relationships or changes.deleted):
        return []
    nodes, edges = topology_rows(changes)
    if not nodes and not edges:
        return []
    now = int(time.time() * 1000)
    payload = encode(nodes, edges).decode()
    return [Unit(APPEND, {"at": now, "payload": payload}, TOPOLOGY),
            Unit(PRUNE, {"cutoff": now - retention_ms, "limit": PRUNE_BATCH}, TOPOLOGY)]


class CypherChangeLog:
    """The change-log half of ``CypherStore`` (it provides ``transport``)."""

    if TYPE_CHECKING:
        transport: CypherTransport

    retention_ms: int = RETENTION_MS

    def change_feed_position(self) -> int:
        rows = self.transport.read(POSITION, {})
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def read_change_feed(self, after: int, limit: int = 100) -> list[FeedEntry]:
        # The head first: an entry committed between the two reads only adds to the page.
        newest = self.change_feed_position()
        rows = self.transport.read(READ, {"after": after, "limit": limit})
        entries = [FeedEntry(int(position), int(at), *decode(payload)) for position, at, payload in rows]
        return checked_page(after, newest, entries)
