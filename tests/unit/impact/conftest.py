from __future__ import annotations

import pytest

from tests.unit.impact.impact_graphs import Graph, chain_graph, three_tier_graph


@pytest.fixture
def three_tier() -> Graph:
    return three_tier_graph()


@pytest.fixture
def chain() -> Graph:
    return chain_graph()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The golden scenarios run on both impact paths (plain-Python walk and vectorised).
    if metafunc.module.__name__.endswith("test_golden"):
        metafunc.fixturenames.append("impact_path")
        metafunc.parametrize("impact_path", ["walk", "vectorised"], indirect=True)


@pytest.fixture
def impact_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "vectorised":
        monkeypatch.setattr("cmdb.impact.service.FAST_PATH_LIMIT", 0)
    return str(request.param)
