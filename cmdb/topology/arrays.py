"""Immutable array structures of the topology index and the frontier expansion.

A *propagation edge* ``u -> v`` means "a failure of u impacts v". It is derived
from a stored relationship and its type's impact direction; ``flip`` records
whether the stored relationship points the other way (``v -[T]-> u``), so the
stored relationship can always be named in an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Int32s = NDArray[np.int32]
Int64s = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class EdgeBatch:
    """Propagation edges ``frm -> to`` with their attributes, parallel arrays."""

    frm: Int32s
    to: Int32s
    etype: NDArray[np.int16]
    conf: NDArray[np.float32]
    method: NDArray[np.int8]
    flip: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.frm.shape[0])

    def take(self, sel: NDArray[np.bool_] | NDArray[np.intp]) -> EdgeBatch:
        return EdgeBatch(self.frm[sel], self.to[sel], self.etype[sel], self.conf[sel], self.method[sel], self.flip[sel])

    @staticmethod
    def empty() -> EdgeBatch:
        return EdgeBatch(
            np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.int16),
            np.empty(0, np.float32), np.empty(0, np.int8), np.empty(0, np.bool_),
        )

    @staticmethod
    def concat(batches: list[EdgeBatch]) -> EdgeBatch:
        batches = [b for b in batches if len(b)]
        if not batches:
            return EdgeBatch.empty()
        if len(batches) == 1:
            return batches[0]
        return EdgeBatch(
            np.concatenate([b.frm for b in batches]), np.concatenate([b.to for b in batches]),
            np.concatenate([b.etype for b in batches]), np.concatenate([b.conf for b in batches]),
            np.concatenate([b.method for b in batches]), np.concatenate([b.flip for b in batches]),
        )

    def stored_keys(self) -> Int64s:
        """The key of the stored relationship behind each propagation edge."""
        src = np.where(self.flip, self.to, self.frm)
        dst = np.where(self.flip, self.frm, self.to)
        return edge_keys(src, dst, self.etype)


KEY_NODE_BITS = 27  # up to 134M CIs
KEY_TYPE_BITS = 8  # up to 256 relationship types


def edge_keys(src: NDArray[np.int32], dst: NDArray[np.int32], etype: NDArray[np.int16]) -> Int64s:
    """Pack (source id, target id, type id) of stored relationships into one int64."""
    return (
        (src.astype(np.int64) << (KEY_NODE_BITS + KEY_TYPE_BITS))
        | (dst.astype(np.int64) << KEY_TYPE_BITS)
        | etype.astype(np.int64)
    )


def edge_key(src: int, dst: int, etype: int) -> int:
    return (src << (KEY_NODE_BITS + KEY_TYPE_BITS)) | (dst << KEY_TYPE_BITS) | etype


@dataclass(frozen=True, slots=True)
class Adjacency:
    """CSR over propagation edges, keyed by one end: ``indptr[node]..indptr[node+1]``.

    ``nbr`` is the other end. In the forward adjacency a node's rows are the CIs it
    impacts; in the reverse adjacency, its inputs.
    """

    indptr: Int64s
    nbr: Int32s
    etype: NDArray[np.int16]
    conf: NDArray[np.float32]
    method: NDArray[np.int8]
    flip: NDArray[np.bool_]

    @property
    def n_nodes(self) -> int:
        return int(self.indptr.shape[0]) - 1

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.indptr, self.nbr, self.etype, self.conf, self.method, self.flip))

    def gather(self, nodes: Int32s) -> tuple[Int32s, NDArray[np.intp]]:
        """Rows of ``nodes``: (the keyed node of each row, row positions)."""
        n = self.n_nodes
        if nodes.shape[0] == 1:
            node = int(nodes[0])
            if node >= n:
                return np.empty(0, np.int32), np.empty(0, np.intp)
            lo, hi = int(self.indptr[node]), int(self.indptr[node + 1])
            return np.full(hi - lo, node, dtype=np.int32), np.arange(lo, hi, dtype=np.intp)
        clipped = np.minimum(nodes, n)
        starts = self.indptr[clipped]
        ends = self.indptr[np.minimum(nodes.astype(np.int64) + 1, n)]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, np.int32), np.empty(0, np.intp)
        owner = np.repeat(nodes, lengths)
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = (np.repeat(starts, lengths) + offsets).astype(np.intp)
        return owner.astype(np.int32, copy=False), rows


def build_adjacency(n_nodes: int, key: Int32s, edges: EdgeBatch, other: Int32s) -> Adjacency:
    """CSR of ``edges`` keyed by ``key`` (one of edges.frm / edges.to), ``other`` the far end."""
    order = np.argsort(key, kind="stable")
    counts = np.bincount(key, minlength=n_nodes) if key.shape[0] else np.zeros(n_nodes, np.int64)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts[:n_nodes], out=indptr[1:])
    return Adjacency(
        indptr=indptr,
        nbr=other[order].astype(np.int32, copy=False),
        etype=edges.etype[order],
        conf=edges.conf[order],
        method=edges.method[order],
        flip=edges.flip[order],
    )


@dataclass(frozen=True, slots=True)
class Overlay:
    """Changes since the last compaction: added propagation edges, masked stored ones."""

    edges: EdgeBatch
    masked: Int64s  # sorted keys of base relationships no longer valid (retired or changed)

    @staticmethod
    def empty() -> Overlay:
        return Overlay(EdgeBatch.empty(), np.empty(0, np.int64))

    def size(self) -> int:
        return len(self.edges) + int(self.masked.shape[0])
