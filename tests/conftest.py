from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.store.cypher.neo4j_server import Neo4jServer
from labs import sample_scanner
from tests.builders import Harness

# Jobs files in the tests name the labs' ``sample`` scanner, as the ``cmdb`` command makes it available.
sample_scanner.register()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "cmdb.sqlite")
    yield h
    h.store.close()


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jServer]:
    """One local Neo4j for the whole session (a start costs seconds); tests clear its database."""
    with Neo4jServer(tmp_path_factory.mktemp("neo4j")) as server:
        yield server
