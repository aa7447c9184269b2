from __future__ import annotations

import pytest

from tests.unit.impact.impact_graphs import Graph, chain_graph, three_tier_graph


@pytest.fixture
def three_tier() -> Graph:
    return three_tier_graph()


@pytest.fixture
def chain() -> Graph:
    return chain_graph()
