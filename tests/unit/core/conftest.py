"""The ingest, identification, reconciliation, aging and purge tests run on every
store kind the product ships for production use: the embedded SQLite default and
Neo4j (one local server per session, its database cleared per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import Harness
from tests.integration.stores.neo4j_fixture import neo4j_store


@pytest.fixture(params=["sqlite", "neo4j"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "sqlite":
        h = Harness(tmp_path / "cmdb.sqlite")
        yield h
        h.store.close()
        return
    with neo4j_store(request.getfixturevalue("neo4j_server")) as store:
        yield Harness(tmp_path / "unused", store=store)
