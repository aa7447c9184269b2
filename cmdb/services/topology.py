"""A CI's neighbourhood as nodes and edges, ready for drawing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cmdb.model import CI, Relationship
from cmdb.services.errors import InvalidQuery
from cmdb.store.protocol import Direction, GraphStore
from schema import Schema

MAX_DEPTH = 6
MAX_NODES = 2_000


@dataclass(frozen=True, slots=True)
class TopologyRequest:
    root: str
    depth: int = 2
    direction: Direction = Direction.BOTH
    types: tuple[str, ...] = ()
    max_nodes: int = 500


@dataclass(frozen=True, slots=True)
class TopologyNode:
    ci: CI
    depth: int  # hops from the root


@dataclass(frozen=True, slots=True)
class TopologyView:
    root: str
    nodes: list[TopologyNode]
    edges: list[Relationship]  # only edges whose two ends are both in ``nodes``
    truncated: bool


class TopologyService:
    """Breadth-first expansion from a root: one store call per level, one to load the CIs."""

    def __init__(self, store: GraphStore, schema: Schema) -> None:
        self.store = store
        self.schema = schema

    def topology(self, request: TopologyRequest) -> TopologyView | None:
        """None when the root does not exist."""
        if not 0 <= request.depth <= MAX_DEPTH:
            raise InvalidQuery("depth", f"must be between 0 and {MAX_DEPTH}")
        if not 1 <= request.max_nodes <= MAX_NODES:
            raise InvalidQuery("maxNodes", f"must be between 1 and {MAX_NODES}")
        for name in request.types:
            if name not in self.schema.relationships:
                raise InvalidQuery("types", f"unknown relationship type {name!r}")
        if not self.store.get_cis([request.root]):
            return None
        depth_of: dict[str, int] = {request.root: 0}
        edges: dict[str, Relationship] = {}
        frontier = [request.root]
        truncated = False
        for level in range(1, request.depth + 1):
            if not frontier:
                break
            rels = self.store.neighbours(frontier, request.direction, request.types or None)
            nxt: list[str] = []
            for rel in rels:
                for uid in self._ends(rel, frontier, request.direction):
                    if uid not in depth_of:
                        if len(depth_of) >= request.max_nodes:
                            truncated = True
                            continue
                        depth_of[uid] = level
                        nxt.append(uid)
                edges[rel.uid] = rel
            frontier = nxt
        cis = self.store.get_cis(list(depth_of))
        nodes = [TopologyNode(cis[u], d) for u, d in sorted(depth_of.items(), key=lambda x: (x[1], x[0])) if u in cis]
        kept = [e for e in edges.values() if e.source_uid in depth_of and e.target_uid in depth_of]
        kept.sort(key=lambda r: r.uid)
        return TopologyView(root=request.root, nodes=nodes, edges=kept, truncated=truncated)

    @staticmethod
    def _ends(rel: Relationship, frontier: Sequence[str], direction: Direction) -> list[str]:
        ends = []
        if direction is not Direction.IN:
            ends.append(rel.target_uid)
        if direction is not Direction.OUT:
            ends.append(rel.source_uid)
        return ends
