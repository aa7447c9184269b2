"""Store selection by URL, credentials from the environment, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb.store.cypher.neo4j_transport import Neo4jTransport
from cmdb.store.cypher.store import CypherStore
from cmdb.store.factory import StoreURLError, open_store, redact, store_password
from cmdb.store.sqlite import SQLiteStore


def test_redact_hides_only_the_password() -> None:
    assert redact("neo4j://admin:s3cret@db.example:7687/graph?tls=true") == "neo4j://admin:***@db.example:7687/graph?tls=true"
    assert redact("falkordb://127.0.0.1:6379/cmdb") == "falkordb://127.0.0.1:6379/cmdb"
    assert "s3cret" not in redact("bolt://u:s3cret@h")


def test_password_from_environment_or_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert store_password({"CMDB_STORE_PASSWORD": "direct", "CMDB_STORE_PASSWORD_FILE": str(secret)}) == "direct"
    assert store_password({"CMDB_STORE_PASSWORD_FILE": str(secret)}) == "from-file"
    assert store_password({}) is None


def test_a_password_in_the_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(StoreURLError) as info:
        open_store("neo4j://admin:s3cret@db.example:7687")
    assert "s3cret" not in str(info.value)
    assert "CMDB_STORE_PASSWORD" in str(info.value)


def test_sqlite_url_opens_the_embedded_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x/cmdb.sqlite")
    assert isinstance(store, SQLiteStore)
    assert (tmp_path / "x" / "cmdb.sqlite").exists()
    store.close()


@pytest.mark.parametrize("url", ["neo4j://admin@db.example:7687", "bolt://admin@db.example", "neo4j+s://admin@db.example"])
def test_neo4j_urls_build_a_cypher_store_without_connecting(url: str) -> None:
    store = open_store(url + "?database=cmdb&batch_size=500", env={"CMDB_STORE_PASSWORD": "pw"})
    assert isinstance(store, CypherStore)
    transport = store.transport
    assert isinstance(transport, Neo4jTransport)
    assert transport.options.user == "admin" and transport.options.password == "pw"
    assert transport.options.database == "cmdb" and store.batch_size == 500
    assert transport.options.uri.startswith(url.split("://")[0] + "://db.example:7687")
    store.close()


def test_unknown_scheme_and_missing_parts() -> None:
    with pytest.raises(StoreURLError, match="unknown store scheme"):
        open_store("postgres://db/x")
    with pytest.raises(StoreURLError, match="needs a path"):
        open_store("sqlite://")
