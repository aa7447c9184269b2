"""The store-owned change log: what each applied ChangeSet did to the topology, in commit order.

Every process serving the API holds its own in-memory topology index, and changes
reach it from any writer (this process, another API replica, ``cmdb ingest``, a
scheduler, a collector batch) only through the store. Every store (SQLite,
Neo4j, FalkorDB) appends, in the same transaction as each ``apply``, one entry
holding the topology rows that ChangeSet touched: the CIs as :class:`NodeRow`
and the relationships as :class:`EdgeRow` (a deleted relationship as a retired
row), exactly the rows ``iter_nodes`` and ``iter_edges`` would now return for
them. A ChangeSet that touches no topology row (keys, sightings, history only)
appends nothing.

Positions (``seq``) start at 1 and are consecutive in commit order: each store
takes the next one under the lock that serialises its writers (SQLite's
``BEGIN IMMEDIATE``; a write lock on one head node on Neo4j, held to commit;
FalkorDB runs one write at a time per graph), and a rolled-back write gives its
position back. Readers replay the entries after the last one they applied, in
order (``cmdb.topology.follower``); every in-memory follower does, the writing
process's own index included (one path).

Entries older than the store's retention are pruned in the writing transaction.
A reader whose next entry is gone gets :class:`ReloadWhole` and reloads its
index from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import orjson

from cmdb.model import CI, ChangeSet, Lifecycle, Relationship
from cmdb.store.protocol import EdgeRow, NodeRow

# Entries are kept this long (ms) after they were written: a reader further behind reloads.
RETENTION_MS = 15 * 60 * 1000


class FeedEntry(NamedTuple):
    seq: int  # consecutive, from 1, in commit order
    at: int  # epoch ms when written
    nodes: list[NodeRow]
    edges: list[EdgeRow]


class ReloadWhole(Exception):
    """The entries right after the reader's position are gone (pruned past the retention, or the
    store was replaced): replaying cannot bring it current; reload from the store, then follow
    from ``position`` (the newest position when this was raised)."""

    def __init__(self, after: int, position: int) -> None:
        super().__init__(f"change log: the entries after {after} are gone (newest {position}); reload whole")
        self.after = after
        self.position = position


@runtime_checkable
class ChangeFeedStore(Protocol):
    """A store with a change log (every store: SQLite, Neo4j, FalkorDB)."""

    retention_ms: int

    def change_feed_position(self) -> int:
        """The seq of the newest entry (0 if none was ever written)."""
        ...

    def read_change_feed(self, after: int, limit: int = 100) -> list[FeedEntry]:
        """Up to ``limit`` entries with seq > ``after``, oldest first; [] when ``after`` is the newest.

        Raises :class:`ReloadWhole` when the entry ``after + 1`` is gone.
        """
        ...


def checked_page(after: int, newest: int, entries: list[FeedEntry]) -> list[FeedEntry]:
    """``entries`` (seq > ``after``, oldest first), or :class:`ReloadWhole` if they do not start at ``after + 1``.

    ``newest`` is the head position read *before* the entries: an entry committed in between
    only adds to the page, it never hides a gap.
    """
    if after > newest:  # the reader is ahead of the store: it was replaced or restored
        raise ReloadWhole(after, newest)
    if entries:
        if entries[0].seq != after + 1:
            raise ReloadWhole(after, max(newest, entries[-1].seq))
        return entries
    if newest > after:
        raise ReloadWhole(after, newest)
    return entries


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _status(status: Any) -> str:
    return status.value if isinstance(status, Lifecycle) else str(status)


def node_row(ci: CI) -> NodeRow:
    """A CI as ``iter_nodes`` returns it (name, min_up and owner as text)."""
    attrs = ci.attributes
    return NodeRow(ci.uid, ci.ci_class, _status(ci.status), _text(attrs.get("name")), _text(attrs.get("min_up")),
                   _text(attrs.get("owner")), _flag(attrs.get("uplink")))


def _flag(value: Any) -> bool | None:
    return None if value is None else value is True or str(value).lower() in ("true", "1", "yes")


def edge_row(rel: Relationship) -> EdgeRow:
    """A relationship as ``iter_edges`` returns it."""
    ev = rel.evidence
    return EdgeRow(rel.source_uid, rel.type, rel.target_uid, ev.method, float(ev.confidence), _status(rel.status))


def deleted_edge_row(uid: str) -> EdgeRow:
    """A deleted relationship, from its ``source:TYPE:target`` uid: it propagates like a retired one."""
    source_uid, rel_type, target_uid = uid.split(":", 2)
    return EdgeRow(source_uid, rel_type, target_uid, "declared", 0.0, Lifecycle.RETIRED.value)


def topology_rows(changes: ChangeSet) -> tuple[list[NodeRow], list[EdgeRow]]:
    """The node and edge rows a ChangeSet leaves in the store (deletes first, as ``apply`` does them)."""
    edges = [deleted_edge_row(uid) for kind, uid in changes.deleted if kind == "rel"]
    edges.extend(edge_row(rel) for rel in changes.relationships)
    return [node_row(ci) for ci in changes.cis], edges


def encode(nodes: Sequence[NodeRow], edges: Sequence[EdgeRow]) -> bytes:
    # orjson writes tuples but not their subclasses: the rows go as plain tuples.
    return orjson.dumps([[tuple(n) for n in nodes], [tuple(e) for e in edges]])


def decode(payload: bytes | str) -> tuple[list[NodeRow], list[EdgeRow]]:
    nodes, edges = orjson.loads(payload)
    return [NodeRow._make(n) for n in nodes], [EdgeRow._make(e) for e in edges]
