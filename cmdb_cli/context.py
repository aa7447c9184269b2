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
    """Structured logs on stderr for every logger (stdlib and structlog alike).

    ``json_logs`` gives one JSON object per line for log shippers; otherwise a
    readable key=value line. Secrets never reach a log: credentials are passed by
    reference and only their names are logged.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
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
                    aging_batch_size=cfg.aging_batch_size, run_lease_ms=cfg.run_lease_s * 1000)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
