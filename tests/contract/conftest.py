"""The store contract: every GraphStore implementation passes the same suite.

A new store plugs in by adding one entry to ``STORE_FACTORIES``: a context
manager yielding a fresh, empty store.
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


@contextmanager
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = SQLiteStore(tmp_path / "contract.sqlite", load_schema())
    try:
        yield store
    finally:
        store.close()


STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[GraphStore]]] = {
    "sqlite": sqlite_store,
    "falkordb": falkordb_store,
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    with STORE_FACTORIES[request.param](tmp_path) as instance:
        yield instance
