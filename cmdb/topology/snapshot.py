"""One consistent, read-only view of the topology: what every traversal reads.

A reader takes the current :class:`Topology` once per query and uses only it, so a
concurrent ``TopologyIndex.apply`` (which builds a new view and swaps it in) never
shows it half a change. Per-node display values (name, owner, status) live in
append-only lists shared between views; they are informational only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cmdb.topology.arrays import Adjacency, EdgeBatch, Int32s, Int64s, Overlay
from cmdb.topology.network import NetworkEdges, NetworkGraph, build_network
from cmdb.topology.vocabulary import Vocabulary
from schema import MinUp


@dataclass(frozen=True, slots=True)
class NodeTable:
    """Per-node values. Lists are shared and append-only; ``n`` bounds what a view sees."""

    uids: list[str]
    uid_to_id: dict[str, int]
    names: list[str | None]
    owners: list[str | None]
    statuses: list[str]
    min_up: list[MinUp | None]  # the CI's own override, copied on change
    class_id: NDArray[np.int16]  # capacity >= n; copied when an existing node changes class
    uplink: list[bool | None]  # the CI's ``uplink`` attribute (network layer)


@dataclass(frozen=True, slots=True)
class Topology:
    """An immutable view: ``n`` nodes, base CSR arrays plus a small overlay."""

    vocab: Vocabulary
    n: int
    nodes: NodeTable
    fwd: Adjacency  # node -> the CIs its failure impacts
    rev: Adjacency  # node -> its inputs
    base_keys: Int64s  # sorted stored-relationship keys present in the base CSR
    overlay: Overlay
    net: NetworkEdges = field(default_factory=NetworkEdges.empty)  # what the network layer reads

    # -- network layer ------------------------------------------------------------------
    def network(self, uplinks: tuple[int, ...] | None = None, min_confidence: float = 0.0) -> NetworkGraph | None:
        """The network graph for these uplinks (None: the catalog's), built once per set of edges.

        None when the schema declares no network layer.
        """
        if not self.vocab.network.enabled:
            return None
        key = (uplinks, float(min_confidence))
        graph = self.net.graphs.get(key)
        if graph is None:
            graph = build_network(
                self.net, self.n, self.nodes.class_id, self.nodes.uplink, self.vocab.network, uplinks, min_confidence,
            )
            if len(self.net.graphs) >= 8:
                self.net.graphs.clear()
            self.net.graphs[key] = graph
        return graph

    # -- node lookups ----------------------------------------------------------------
    def id_of(self, uid: str) -> int | None:
        """The integer id of a CI, or None when this view does not hold it."""
        nid = self.nodes.uid_to_id.get(uid)
        return nid if nid is not None and nid < self.n else None

    def uid(self, nid: int) -> str:
        return self.nodes.uids[nid]

    def name(self, nid: int) -> str:
        name = self.nodes.names[nid]
        return name if name is not None else self.nodes.uids[nid]

    def owner(self, nid: int) -> str | None:
        return self.nodes.owners[nid]

    def status(self, nid: int) -> str:
        return self.nodes.statuses[nid]

    def class_name(self, nid: int) -> str:
        return self.vocab.classes[int(self.nodes.class_id[nid])]

    def class_ids(self) -> NDArray[np.int16]:
        return self.nodes.class_id[: self.n]

    def min_up(self, nid: int) -> MinUp | None:
        """The CI's redundancy threshold: its own ``min_up`` or its class default."""
        own = self.nodes.min_up[nid]
        if own is not None:
            return own
        return self.vocab.default_min_up[int(self.nodes.class_id[nid])]

    def is_service(self, nid: int) -> bool:
        return bool(self.vocab.service_classes[int(self.nodes.class_id[nid])])

    # -- edges -----------------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        """Propagation edges visible in this view (base minus masked plus overlay, approx.)."""
        return int(self.fwd.nbr.shape[0]) - int(self.overlay.masked.shape[0]) + len(self.overlay.edges)

    def grouped(self, edges: EdgeBatch) -> NDArray[np.bool_]:
        """Per propagation edge: does it feed a redundancy group of its impacted CI?"""
        return self.vocab.group_table[self.nodes.class_id[edges.to], edges.etype]

    def expand(
        self,
        nodes: Int32s,
        forward: bool,
        type_ok: NDArray[np.bool_] | None = None,
        min_confidence: float = 0.0,
    ) -> EdgeBatch:
        """Active propagation edges leaving (forward) or entering (reverse) ``nodes``.

        Always returned in propagation orientation (``frm`` impacts ``to``), filtered
        by relationship type and by effective confidence.
        """
        adj = self.fwd if forward else self.rev
        owner, rows = adj.gather(nodes)
        if forward:
            base = EdgeBatch(owner, adj.nbr[rows], adj.etype[rows], adj.conf[rows], adj.method[rows], adj.flip[rows])
        else:
            base = EdgeBatch(adj.nbr[rows], owner, adj.etype[rows], adj.conf[rows], adj.method[rows], adj.flip[rows])
        masked = self.overlay.masked
        if masked.shape[0] and len(base):
            base = base.take(~np.isin(base.stored_keys(), masked, assume_unique=False))
        extra = self.overlay.edges
        if len(extra):
            ends = extra.frm if forward else extra.to
            extra = extra.take(np.isin(ends, nodes))
            base = EdgeBatch.concat([base, extra])
        if not len(base):
            return base
        keep: NDArray[np.bool_] | None = None
        if type_ok is not None and not bool(type_ok.all()):
            keep = type_ok[base.etype]
        if min_confidence > 0.0:
            conf_ok = base.conf >= np.float32(min_confidence)
            keep = conf_ok if keep is None else keep & conf_ok
        return base if keep is None else base.take(keep)

    def nbytes(self) -> int:
        """Bytes held by the numpy arrays of this view (Python lists not counted)."""
        return (
            self.fwd.nbytes() + self.rev.nbytes() + self.base_keys.nbytes
            + self.nodes.class_id.nbytes + self.overlay.masked.nbytes
        )
