from __future__ import annotations

import sys
from pathlib import Path

# The graph builder lives beside the impact tests; share it rather than copy it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "impact"))

import pytest
from impact_graphs import Graph, three_tier_graph


@pytest.fixture
def three_tier() -> Graph:
    return three_tier_graph()
