"""TopologyIndex: the in-memory projection of the graph every traversal runs on.

Loaded once from the store (``iter_nodes`` / ``iter_edges``), then kept current by
the ingest path through :meth:`TopologyIndex.apply` (register it as an ingest
listener). Changes land in a small overlay of added propagation edges and masked
base relationships; past a threshold the overlay is compacted into fresh CSR
arrays. Each apply publishes a new immutable :class:`Topology` view with one
reference swap, so readers never lock and never see half a change set.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

import numpy as np

from cmdb.model import ChangeSet, Lifecycle
from cmdb.store.change_feed import topology_rows
from cmdb.store.protocol import EdgeRow, GraphStore, NodeRow
from cmdb.topology.arrays import (
    EdgeBatch,
    Int64s,
    Overlay,
    build_adjacency,
    edge_key,
    edge_keys,
)
from cmdb.topology.network import NetworkEdges
from cmdb.topology.snapshot import NodeTable, Topology
from cmdb.topology.vocabulary import (
    CERTAIN,
    DIR_BOTH,
    DIR_NONE,
    DIR_SOURCE_TO_TARGET,
    DIR_TARGET_TO_SOURCE,
    UNCERTAIN_METHODS,
    UNKNOWN_CLASS,
    Vocabulary,
)
from schema import MinUp, Schema

log = logging.getLogger(__name__)

ACTIVE = Lifecycle.ACTIVE.value

# (source id, target id, type id, effective confidence, method id): one stored relationship.
_Stored = tuple[int, int, int, float, int]


def parse_min_up(raw: Any) -> MinUp | None:
    """A CI's ``min_up`` attribute as a MinUp; absent or malformed values give None."""
    if raw is None or raw == "":
        return None
    try:
        return MinUp.parse(raw)
    except ValueError:
        log.warning("ignoring malformed min_up %r", raw)
        return None


@dataclass(frozen=True, slots=True)
class BuildStats:
    nodes: int
    relationships_read: int
    relationships_indexed: int  # active, propagating, both ends known
    skipped_unknown_end: int


def propagation_edges(
    src: np.ndarray, dst: np.ndarray, etype: np.ndarray, conf: np.ndarray, method: np.ndarray, vocab: Vocabulary
) -> EdgeBatch:
    """Turn stored relationships into propagation edges by their type's impact direction."""
    direction = vocab.directions[etype] if etype.shape[0] else np.empty(0, np.int8)
    t2s = (direction == DIR_TARGET_TO_SOURCE) | (direction == DIR_BOTH)
    s2t = (direction == DIR_SOURCE_TO_TARGET) | (direction == DIR_BOTH)
    return EdgeBatch.concat([
        EdgeBatch(dst[t2s], src[t2s], etype[t2s], conf[t2s], method[t2s], np.ones(int(t2s.sum()), np.bool_)),
        EdgeBatch(src[s2t], dst[s2t], etype[s2t], conf[s2t], method[s2t], np.zeros(int(s2t.sum()), np.bool_)),
    ])


def _topology(vocab: Vocabulary, nodes: NodeTable, n: int, edges: EdgeBatch, net: NetworkEdges) -> Topology:
    fwd = build_adjacency(n, edges.frm, edges, edges.to)
    rev = build_adjacency(n, edges.to, edges, edges.frm)
    keys = np.unique(edges.stored_keys()) if len(edges) else np.empty(0, np.int64)
    return Topology(vocab, n, nodes, fwd, rev, keys, Overlay.empty(), net)


class TopologyIndex:
    """Thread-safe holder of the current :class:`Topology` view, kept current by ``apply``."""

    def __init__(self, topology: Topology, compact_threshold: int | None = None) -> None:
        self._topo = topology
        self._lock = threading.Lock()
        self._threshold = compact_threshold
        self._ov_edges: dict[int, _Stored] = {}  # key -> stored relationship added since compaction
        self._masked: set[int] = set()
        # The network layer's relationships by key, materialised on the first change to them.
        self._net: dict[int, tuple[int, int, int, float]] | None = None
        self.stats: BuildStats | None = None

    # -- construction ------------------------------------------------------------------
    @classmethod
    def load(cls, store: GraphStore, schema: Schema, compact_threshold: int | None = None) -> TopologyIndex:
        """Build the index from a store's slim node and edge rows."""
        return cls.from_rows(_flatten(store.iter_nodes()), _flatten(store.iter_edges()), schema, compact_threshold)

    @classmethod
    def from_rows(
        cls,
        nodes: Iterable[NodeRow],
        edges: Iterable[EdgeRow],
        schema: Schema,
        compact_threshold: int | None = None,
    ) -> TopologyIndex:
        """Build the index from node and edge rows (tests, benchmarks, ``load``)."""
        vocab = Vocabulary.from_schema(schema)
        # Millions of row tuples would trigger the cyclic GC over and over while the
        # node lists grow (a third of the build time); rows hold no cycles.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            table = _node_table(nodes, vocab)
            src_a, dst_a, type_a, conf_a, meth_a, read, skipped, net = _edge_arrays(edges, table.uid_to_id, vocab)
        finally:
            if gc_was_enabled:
                gc.enable()
        n = len(table.uids)
        # One relationship per (source, type, target): a later row wins.
        keys = edge_keys(src_a, dst_a, type_a)
        _, last_rev = np.unique(keys[::-1], return_index=True)
        if last_rev.shape[0] != keys.shape[0]:
            keep = np.sort(keys.shape[0] - 1 - last_rev)
            src_a, dst_a, type_a, conf_a, meth_a = src_a[keep], dst_a[keep], type_a[keep], conf_a[keep], meth_a[keep]
        del keys
        prop = propagation_edges(src_a, dst_a, type_a, conf_a, meth_a, vocab)
        index = cls(_topology(vocab, table, n, prop, net), compact_threshold)
        index.stats = BuildStats(n, read, int(src_a.shape[0]), skipped)
        return index

    # -- reading -------------------------------------------------------------------------
    def view(self) -> Topology:
        """The current consistent view; hold it for the duration of one query."""
        return self._topo

    @property
    def vocab(self) -> Vocabulary:
        return self._topo.vocab

    def __len__(self) -> int:
        return self._topo.n

    # -- keeping current -------------------------------------------------------------------
    def apply(self, changes: ChangeSet) -> None:
        """Fold one applied ChangeSet's rows (new/changed CIs and relationships) into the index.

        For an index built by hand (tests, tools). A served index is kept current only
        by its change-log follower (``cmdb.topology.follower``), which folds each entry's
        rows with :meth:`apply_rows`, whoever wrote them.
        """
        if not changes.cis and not changes.relationships and not changes.deleted:
            return
        self.apply_rows(*topology_rows(changes))

    def apply_rows(self, nodes: Sequence[NodeRow], edges: Sequence[EdgeRow]) -> None:
        """Fold node and edge rows (their state in the store now) into the index.

        What ``apply`` does with a ChangeSet's rows, and what a change-feed follower
        does with the rows another process wrote (``cmdb.topology.follower``).
        """
        if not nodes and not edges:
            return
        with self._lock:
            topo = self._topo
            self._drop_orphans(topo)
            table, n = self._apply_nodes(topo, nodes)
            changed = False
            net_changed = self._net_nodes_changed(topo, table, n, nodes)
            for edge in edges:
                changed |= self._apply_edge(topo, table, n, edge)
                net_changed |= self._apply_net_edge(topo, table, n, edge)
            if not changed and not net_changed and n == topo.n and table is topo.nodes:
                return
            overlay = self._overlay(topo) if changed else topo.overlay
            net = self._net_edges(topo) if net_changed else topo.net
            new = Topology(topo.vocab, n, table, topo.fwd, topo.rev, topo.base_keys, overlay, net)
            if overlay.size() > self._compact_limit(new):
                new = self._compacted(new)
            self._topo = new

    def compact(self) -> None:
        """Fold the overlay into fresh CSR arrays now."""
        with self._lock:
            self._topo = self._compacted(self._topo)

    def replace(self, other: TopologyIndex) -> None:
        """Take over ``other``'s state (a reload): readers holding this index see it from their next view."""
        with self._lock:
            self._topo = other._topo
            self._ov_edges, self._masked = other._ov_edges, other._masked
            self._net = other._net
            self.stats = other.stats

    def _compact_limit(self, topo: Topology) -> int:
        if self._threshold is not None:
            return self._threshold
        return max(20_000, int(topo.fwd.nbr.shape[0]) // 50)

    @staticmethod
    def _drop_orphans(topo: Topology) -> None:
        # Entries past the published n are left over from an apply that raised midway.
        t = topo.nodes
        for uid in t.uids[topo.n :]:
            t.uid_to_id.pop(uid, None)
        for values in (t.uids, t.names, t.owners, t.statuses, t.min_up, t.uplink):
            del values[topo.n :]

    def _apply_nodes(self, topo: Topology, rows: Sequence[NodeRow]) -> tuple[NodeTable, int]:
        if not rows:
            return topo.nodes, topo.n
        vocab = topo.vocab
        t = topo.nodes
        class_id, min_up = t.class_id, t.min_up
        class_copied = min_up_copied = False
        n = topo.n
        for uid, ci_class, status, name, raw_min_up, owner, *rest in rows:
            uplink = rest[0] if rest else None
            cid = vocab.class_id(ci_class)
            mu = parse_min_up(raw_min_up)
            nid = t.uid_to_id.get(uid)
            if nid is None:
                nid = n
                n += 1
                if nid >= class_id.shape[0]:
                    grown = np.zeros(max(16, 2 * class_id.shape[0]), dtype=np.int16)
                    grown[: class_id.shape[0]] = class_id
                    class_id, class_copied = grown, True
                # Slots at or past the published n are invisible to readers: write in place.
                class_id[nid] = cid
                t.uids.append(uid)
                t.names.append(name)
                t.owners.append(owner)
                t.statuses.append(status)
                min_up.append(mu)
                t.uplink.append(uplink)
                t.uid_to_id[uid] = nid
                continue
            if int(class_id[nid]) != cid:
                if not class_copied:
                    class_id, class_copied = class_id.copy(), True
                class_id[nid] = cid
            if min_up[nid] != mu:
                if not min_up_copied:
                    min_up, min_up_copied = list(min_up), True
                min_up[nid] = mu
            # Display values: replaced in place (a reader may see the newer one).
            t.names[nid], t.owners[nid], t.statuses[nid] = name, owner, status
            t.uplink[nid] = uplink
        return NodeTable(t.uids, t.uid_to_id, t.names, t.owners, t.statuses, min_up, class_id, t.uplink), n

    def _apply_edge(self, topo: Topology, nodes: NodeTable, n: int, edge: EdgeRow) -> bool:
        source_uid, rel_type, target_uid, method, confidence, status = edge
        vocab = topo.vocab
        tid = vocab.type_ids.get(rel_type)
        if tid is None or vocab.directions[tid] == DIR_NONE:
            return False
        s = nodes.uid_to_id.get(source_uid)
        d = nodes.uid_to_id.get(target_uid)
        if s is None or d is None or s >= n or d >= n:
            log.warning("topology: relationship %s:%s:%s names a CI the index does not hold",
                        source_uid, rel_type, target_uid)
            return False
        key = edge_key(s, d, tid)
        active = status == ACTIVE
        stored: _Stored = (s, d, tid, vocab.effective_confidence(method, confidence), vocab.method_id(method))
        current = self._current(topo, key, stored)
        if active and current is not None and _same(current, stored):
            return False
        if not active and current is None:
            return False
        if self._in_base(topo.base_keys, key):
            self._masked.add(key)
        self._ov_edges.pop(key, None)
        if active:
            self._ov_edges[key] = stored
        return True

    def _current(self, topo: Topology, key: int, stored: _Stored) -> _Stored | None:
        """The live version of a stored relationship (overlay first, then base)."""
        if key in self._ov_edges:
            return self._ov_edges[key]
        if key in self._masked or not self._in_base(topo.base_keys, key):
            return None
        s, d, tid = stored[0], stored[1], stored[2]
        direction = int(topo.vocab.directions[tid])
        frm, to, flip = (d, s, True) if direction in (DIR_TARGET_TO_SOURCE, DIR_BOTH) else (s, d, False)
        adj = topo.fwd
        if frm >= adj.n_nodes:
            return None
        lo, hi = int(adj.indptr[frm]), int(adj.indptr[frm + 1])
        hit = np.nonzero((adj.nbr[lo:hi] == to) & (adj.etype[lo:hi] == tid) & (adj.flip[lo:hi] == flip))[0]
        if not hit.shape[0]:
            return None
        row = lo + int(hit[0])
        return (s, d, tid, float(adj.conf[row]), int(adj.method[row]))

    @staticmethod
    def _in_base(base_keys: Int64s, key: int) -> bool:
        i = int(np.searchsorted(base_keys, key))
        return i < base_keys.shape[0] and int(base_keys[i]) == key

    def _overlay(self, topo: Topology) -> Overlay:
        masked = np.array(sorted(self._masked), dtype=np.int64)
        if not self._ov_edges:
            return Overlay(EdgeBatch.empty(), masked)
        rows = np.array(list(self._ov_edges.values()), dtype=np.float64)
        edges = propagation_edges(
            rows[:, 0].astype(np.int32), rows[:, 1].astype(np.int32), rows[:, 2].astype(np.int16),
            rows[:, 3].astype(np.float32), rows[:, 4].astype(np.int8), topo.vocab,
        )
        return Overlay(edges, masked)

    def _compacted(self, topo: Topology) -> Topology:
        fwd = topo.fwd
        counts = np.diff(fwd.indptr)
        base = EdgeBatch(
            np.repeat(np.arange(fwd.n_nodes, dtype=np.int32), counts), fwd.nbr, fwd.etype, fwd.conf, fwd.method, fwd.flip
        )
        if topo.overlay.masked.shape[0]:
            base = base.take(~np.isin(base.stored_keys(), topo.overlay.masked))
        merged = EdgeBatch.concat([base, topo.overlay.edges])
        self._ov_edges.clear()
        self._masked.clear()
        return _topology(topo.vocab, topo.nodes, topo.n, merged, topo.net)

    # -- the network layer -------------------------------------------------------------------
    @staticmethod
    def _net_nodes_changed(topo: Topology, table: NodeTable, n: int, rows: Sequence[NodeRow]) -> bool:
        """Did a CI the network layer reads change its class or uplink mark (a new network graph)?"""
        codes = topo.vocab.network
        if not codes.enabled:
            return False
        for row in rows:
            nid = table.uid_to_id.get(row[0])
            if nid is None or nid >= n:
                continue
            cid = int(table.class_id[nid])
            if nid >= topo.n:
                if codes.uplink_class[cid] or (len(row) > 6 and row[6] is not None):
                    return True
                continue
            if cid != int(topo.nodes.class_id[nid]) or (len(row) > 6 and row[6] is not None):
                return True
        return False

    def _apply_net_edge(self, topo: Topology, nodes: NodeTable, n: int, edge: EdgeRow) -> bool:
        source_uid, rel_type, target_uid, method, confidence, status = edge
        vocab = topo.vocab
        tid = vocab.type_ids.get(rel_type)
        if tid is None or not vocab.net_types[tid]:
            return False
        s = nodes.uid_to_id.get(source_uid)
        d = nodes.uid_to_id.get(target_uid)
        if s is None or d is None or s >= n or d >= n:
            return False
        if self._net is None:
            net = topo.net
            self._net = {
                edge_key(a, b, t): (a, b, t, c)
                for a, b, t, c in zip(net.src.tolist(), net.dst.tolist(), net.etype.tolist(), net.conf.tolist(),
                                      strict=True)
            }
        key = edge_key(s, d, tid)
        if status == ACTIVE:
            row = (s, d, tid, float(np.float32(vocab.effective_confidence(method, confidence))))
            if self._net.get(key) == row:
                return False
            self._net[key] = row
            return True
        return self._net.pop(key, None) is not None

    def _net_edges(self, topo: Topology) -> NetworkEdges:
        if self._net is None:  # only nodes changed: same edges, a fresh graph cache
            net = topo.net
            return NetworkEdges(net.src, net.dst, net.etype, net.conf)
        rows = list(self._net.values())
        if not rows:
            return NetworkEdges.empty()
        cols = list(zip(*rows, strict=True))
        return NetworkEdges(
            np.array(cols[0], np.int32), np.array(cols[1], np.int32), np.array(cols[2], np.int16),
            np.array(cols[3], np.float32),
        )


_CHUNK = 65_536


def _columns(rows: list[Any], width: int) -> list[list[Any]]:
    # itemgetter maps run in C; zip(*rows) with 65k arguments is ten times slower.
    return [list(map(itemgetter(i), rows)) for i in range(width)]


def _node_table(nodes: Iterable[NodeRow], vocab: Vocabulary) -> NodeTable:
    """Per-node columns, read a chunk at a time with C-level maps (1M rows in about a second)."""
    uids: list[str] = []
    names: list[str | None] = []
    owners: list[str | None] = []
    statuses: list[str] = []
    min_ups: list[MinUp | None] = []
    uplinks: list[bool | None] = []
    codes: list[int] = []
    unknown = vocab.class_ids[UNKNOWN_CLASS]
    it = iter(nodes)
    while chunk := list(islice(it, _CHUNK)):
        width = len(chunk[0])
        u, c, st, nm, mu, ow, *up = _columns(chunk, width)
        uids.extend(u)
        codes.extend(map(vocab.class_ids.get, c, repeat(unknown)))
        statuses.extend(st)
        names.extend(nm)
        min_ups.extend(map(parse_min_up, mu))
        owners.extend(ow)
        uplinks.extend(up[0] if up else repeat(None, len(chunk)))
    uid_to_id = dict(zip(uids, range(len(uids)), strict=True))
    if len(uid_to_id) != len(uids):
        # The same uid twice: keep one node per uid, the later row's values.
        last = {uid: i for i, uid in enumerate(uids)}
        keep = sorted(last.values())
        uids = [uids[i] for i in keep]
        names, owners = [names[i] for i in keep], [owners[i] for i in keep]
        statuses, min_ups, codes = [statuses[i] for i in keep], [min_ups[i] for i in keep], [codes[i] for i in keep]
        uplinks = [uplinks[i] for i in keep]
        uid_to_id = {uid: i for i, uid in enumerate(uids)}
    return NodeTable(uids, uid_to_id, names, owners, statuses, min_ups, np.array(codes, dtype=np.int16), uplinks)


def _edge_arrays(
    edges: Iterable[EdgeRow], uid_to_id: dict[str, int], vocab: Vocabulary
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int, NetworkEdges]:
    """Active, propagating relationships with both ends known, as (src, dst, type, conf, method) arrays,
    and the active relationships the network layer reads."""
    parts: list[tuple[np.ndarray, ...]] = []
    net_parts: list[tuple[np.ndarray, ...]] = []
    net_types = vocab.net_types
    read = skipped = 0
    other = vocab.method_ids["other"]
    it = iter(edges)
    while chunk := list(islice(it, _CHUNK)):
        size = len(chunk)
        read += size
        s_uid, r_type, t_uid, method, confidence, status = _columns(chunk, 6)
        tids = np.fromiter(map(vocab.type_ids.get, r_type, repeat(-1)), np.int64, size)
        ok = np.fromiter(map(ACTIVE.__eq__, status), np.bool_, size) & (tids >= 0)
        net_ok = ok.copy()
        net_ok[net_ok] = net_types[tids[net_ok]]
        ok[ok] = vocab.directions[tids[ok]] != DIR_NONE
        src = np.fromiter(map(uid_to_id.get, s_uid, repeat(-1)), np.int64, size)
        dst = np.fromiter(map(uid_to_id.get, t_uid, repeat(-1)), np.int64, size)
        known = (src >= 0) & (dst >= 0)
        skipped += int((ok & ~known).sum())
        ok &= known
        net_ok &= known
        uncertain = np.fromiter(map(UNCERTAIN_METHODS.__contains__, method), np.bool_, size)
        conf = np.where(uncertain, np.asarray(confidence, dtype=np.float32), CERTAIN).astype(np.float32)
        if net_ok.any():
            net_parts.append((src[net_ok].astype(np.int32), dst[net_ok].astype(np.int32),
                              tids[net_ok].astype(np.int16), conf[net_ok]))
        meth = np.fromiter(map(vocab.method_ids.get, method, repeat(other)), np.int8, size)
        parts.append((src[ok].astype(np.int32), dst[ok].astype(np.int32), tids[ok].astype(np.int16), conf[ok], meth[ok]))
    net = NetworkEdges.empty()
    if net_parts:
        nc = [np.concatenate([p[i] for p in net_parts]) for i in range(4)]
        # One relationship per key: a later row wins.
        keys = edge_keys(nc[0], nc[1], nc[2])
        _, last_rev = np.unique(keys[::-1], return_index=True)
        keep = np.sort(keys.shape[0] - 1 - last_rev)
        net = NetworkEdges(nc[0][keep], nc[1][keep], nc[2][keep], nc[3][keep])
    if not parts:
        e32 = np.empty(0, np.int32)
        return e32, e32, np.empty(0, np.int16), np.empty(0, np.float32), np.empty(0, np.int8), read, skipped, net
    cols = [np.concatenate([p[i] for p in parts]) for i in range(5)]
    return cols[0], cols[1], cols[2], cols[3], cols[4], read, skipped, net


def _same(a: _Stored, b: _Stored) -> bool:
    return a[4] == b[4] and abs(a[3] - b[3]) < 1e-6


def _flatten(batches: Iterable[list[Any]]) -> Iterator[Any]:
    for batch in batches:
        yield from batch
