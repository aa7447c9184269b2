"""Open a store from a URL: ``sqlite:///path``, ``neo4j://user@host:7687``,
``bolt://...``, ``falkordb://host:port/graph``.

Passwords never travel in the URL: they come from ``CMDB_STORE_PASSWORD`` or
the file named by ``CMDB_STORE_PASSWORD_FILE``. A URL that does carry one is
refused, and :func:`redact` is what goes in logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cmdb.store.protocol import GraphStore
from schema import Schema

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


class StoreURLError(ValueError):
    """The store URL cannot be used (unknown scheme, a password in it, missing parts)."""


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def store_password(env: Mapping[str, str] | None = None) -> str | None:
    """``CMDB_STORE_PASSWORD``, else the contents of ``CMDB_STORE_PASSWORD_FILE`` (stripped)."""
    env = os.environ if env is None else env
    if env.get("CMDB_STORE_PASSWORD"):
        return env["CMDB_STORE_PASSWORD"]
    path = env.get("CMDB_STORE_PASSWORD_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return None


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[-1].lower() in ("1", "true", "yes", "on")


def open_store(
    url: str | None = None,
    schema: Schema | None = None,
    env: Mapping[str, str] | None = None,
    batch_size: int | None = None,
) -> GraphStore:
    """The store a URL names. Without a URL: ``sqlite:///`` in the data directory.

    Query options: ``database=`` (Neo4j), ``tls=true`` and ``ca_file=`` (TLS for
    ``bolt://``/``neo4j://``; ``+s`` schemes imply it), ``batch_size=``,
    ``bookkeeping_graph=`` (FalkorDB: keys, history, sightings and runs in that
    second graph; faster writes, but not atomic across the two: see
    ``cmdb.store.cypher.falkordb_transport``).
    """
    if not url:
        from cmdb.settings import get_core_settings

        url = get_core_settings().resolved_store_url()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.password is not None:
        raise StoreURLError(
            f"{redact(url)}: do not put the password in the URL; use CMDB_STORE_PASSWORD or CMDB_STORE_PASSWORD_FILE"
        )
    query = parse_qs(parts.query)
    size = batch_size or int(query.get("batch_size", ["2000"])[-1])

    if scheme == "sqlite":
        from cmdb.store.sqlite import SQLiteStore

        path = parts.path if not parts.netloc else f"/{parts.netloc}{parts.path}"
        if not path or path == "/":
            raise StoreURLError(f"{url}: a sqlite URL needs a path, e.g. sqlite:///var/cmdb.sqlite")
        if path.startswith("/:memory:"):
            path = ":memory:"
        return SQLiteStore(path, schema)

    if scheme in NEO4J_SCHEMES:
        from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport
        from cmdb.store.cypher.store import CypherStore

        if not parts.hostname:
            raise StoreURLError(f"{redact(url)}: a neo4j URL needs a host")
        uri = f"{scheme}://{parts.hostname}:{parts.port or 7687}"
        database = query.get("database", [None])[-1] or (parts.path.strip("/") or None)
        options = Neo4jOptions(
            uri=uri,
            user=parts.username or (None if store_password(env) is None else "neo4j"),
            password=store_password(env),
            database=database,
            encrypted=_flag(query, "tls"),
            ca_file=query.get("ca_file", [None])[-1],
        )
        return CypherStore(Neo4jTransport(options), schema, batch_size=size)

    if scheme == "falkordb":
        from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
        from cmdb.store.cypher.store import CypherStore

        transport = FalkorDBTransport(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            graph=parts.path.strip("/") or "cmdb",
            username=parts.username or None,
            password=store_password(env),
            ssl=_flag(query, "tls"),
            bookkeeping_graph=query.get("bookkeeping_graph", [None])[-1] or None,
        )
        return CypherStore(transport, schema, batch_size=size)

    raise StoreURLError(f"{redact(url)}: unknown store scheme {scheme!r} (sqlite, neo4j, bolt, falkordb)")
