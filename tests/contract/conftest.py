"""The store contract: every GraphStore implementation passes the same suite.

A new store plugs in by adding one entry to ``STORE_FACTORIES``: a context
manager yielding a fresh, empty store, given the test's request (for session
fixtures such as the one Neo4j server) and its directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from cmdb.store.protocol import GraphStore
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema
from tests.integration.stores.falkordb_fixture import falkordb_store
from tests.integration.stores.neo4j_fixture import neo4j_store


@contextmanager
def sqlite_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    store = SQLiteStore(tmp_path / "contract.sqlite", load_schema())
    try:
        yield store
    finally:
        store.close()


@contextmanager
def falkordb_contract_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    with falkordb_store(tmp_path) as store:
        yield store


@contextmanager
def neo4j_contract_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    with neo4j_store(request.getfixturevalue("neo4j_server")) as store:
        yield store


STORE_FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Path], AbstractContextManager[GraphStore]]] = {
    "sqlite": sqlite_store,
    "falkordb": falkordb_contract_store,
    "neo4j": neo4j_contract_store,
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    with STORE_FACTORIES[request.param](request, tmp_path) as instance:
        yield instance
