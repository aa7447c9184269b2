"""The in-memory topology index: numpy CSR arrays of impact propagation."""

from cmdb.topology.index import BuildStats, TopologyIndex, parse_min_up
from cmdb.topology.snapshot import Topology
from cmdb.topology.vocabulary import Vocabulary

__all__ = ["BuildStats", "Topology", "TopologyIndex", "Vocabulary", "parse_min_up"]
