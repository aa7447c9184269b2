"""Graph stores behind one protocol."""

from cmdb.store.protocol import AgingCandidate, Direction, EdgeRow, GraphStore, NodeRow, StoreCounts

__all__ = ["AgingCandidate", "Direction", "EdgeRow", "GraphStore", "NodeRow", "StoreCounts"]
