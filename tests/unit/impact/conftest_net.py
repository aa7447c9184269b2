"""Run a test on both impact paths for real: the other path raises if it is taken."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cmdb.impact import ImpactService
from tests.unit.impact.impact_graphs import Graph

PATHS = ["walk", "vectorised"]


def _refuse(name: str) -> Callable[..., object]:
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError(f"the {name} was taken on the other impact path")
    return refuse


def service_on(path: str, graph: Graph, monkeypatch: pytest.MonkeyPatch) -> ImpactService:
    """An ImpactService that can only answer impact questions on ``path``."""
    if path == "walk":
        # Every question fits the walk; the vectorised reach must never run for impact.
        monkeypatch.setattr("cmdb.impact.service.reach", _refuse("vectorised reach"))
        return ImpactService(graph.index(), graph.schema, fast_path_limit=1_000_000)
    monkeypatch.setattr("cmdb.impact.service.walk", _refuse("plain walk"))
    return ImpactService(graph.index(), graph.schema, fast_path_limit=0)
