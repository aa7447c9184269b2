"""The change feed: what each applied ChangeSet did to the topology, in commit order.

Every process serving the API holds its own in-memory topology index. One that
writes keeps its index current through the ingest listeners; changes written by
*another* process (a second API worker, ``cmdb ingest``, a scheduler run
elsewhere) reach it only through the store. A store with a change feed appends,
in the same transaction as each ``apply``, the topology rows that ChangeSet
touched: the CIs as :class:`NodeRow` and the relationships as :class:`EdgeRow`
(a deleted relationship as a retired row), exactly the rows ``iter_nodes`` and
``iter_edges`` would now return for them. Readers replay the entries after the
last one they applied, in order (``cmdb.topology.follower``).

The feed is off until a process that needs it turns it on (``cmdb serve
--workers N``); the flag lives in the store, so every writer of that store, in
any process, appends from its next ``apply``. Entries older than the retention
are pruned; a reader that finds its next entry gone reloads the index whole.
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


@runtime_checkable
class ChangeFeedStore(Protocol):
    """A store that can record a change feed (the SQLite store)."""

    def set_change_feed(self, enabled: bool) -> None:
        """Turn the feed on or off for every writer of this store, from its next apply."""
        ...

    def change_feed_enabled(self) -> bool:
        ...

    def change_feed_position(self) -> int:
        """The seq of the newest entry (0 if none was ever written)."""
        ...

    def read_change_feed(self, after: int, limit: int = 100) -> list[FeedEntry]:
        """Up to ``limit`` entries with seq > ``after``, oldest first."""
        ...


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
