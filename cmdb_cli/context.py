"""Wiring shared by every command: settings, logging, store, ingestor, console."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import structlog
from rich.console import Console

from cmdb.ingest import Ingestor, Listener
from cmdb.settings import CoreSettings, get_core_settings
from cmdb.store.protocol import GraphStore
from schema import Schema, load_schema

console = Console(stderr=False)
err_console = Console(stderr=True)


def configure_logging(level: str = "WARNING", json_logs: bool = False) -> None:
    """Structured logs on stderr; JSON lines when ``json_logs`` (for log shippers)."""
    logging.basicConfig(level=getattr(logging, level.upper(), logging.WARNING), stream=sys.stderr,
                        format="%(message)s")
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
    )


def settings() -> CoreSettings:
    return get_core_settings()


def schema() -> Schema:
    path = settings().schema_path
    return load_schema(path) if path else load_schema()


def open_store(url: str | None = None) -> GraphStore:
    """The store named by ``url``, or by CMDB_STORE_URL, or the embedded default."""
    from cmdb.store.factory import open_store as open_by_url

    return open_by_url(url or settings().resolved_store_url(), schema=schema())


def open_ingestor(store: GraphStore, listeners: Sequence[Listener] = ()) -> Ingestor:
    cfg = settings()
    return Ingestor(store, schema(), listeners=listeners, batch_size=cfg.ingest_batch_size,
                    aging_batch_size=cfg.aging_batch_size)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
