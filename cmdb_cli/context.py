"""Wiring shared by every command: settings, logging, store, ingestor, console."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import structlog
from rich.console import Console

from cmdb.ingest import Ingestor, Listener
from cmdb.settings import CoreSettings, get_core_settings
from cmdb.store.protocol import GraphStore
from schema import Schema, load_schema

console = Console(stderr=False)
err_console = Console(stderr=True)


# Libraries whose INFO/DEBUG lines drown what an operator needs (asyncssh logged two
# thirds of a scheduler's lines at INFO): WARNING unless --library-log-level asks for more.
THIRD_PARTY_LOGGERS = ("asyncssh", "pysnmp", "pysmi", "apscheduler", "httpx", "httpcore", "botocore", "boto3",
                       "urllib3", "s3transfer", "neo4j", "strawberry", "multipart", "watchfiles")


@dataclass(frozen=True)
class LogConfig:
    """How this process logs; set once by the root options, reused by every command and worker."""

    level: str = "WARNING"
    json_logs: bool = False
    library_level: str = "WARNING"
    log_file: str | None = None
    max_bytes: int = 50 * 1024 * 1024
    backups: int = 5


_current = LogConfig()


def current_logging() -> LogConfig:
    return _current


def configure_logging(level: str | None = None, json_logs: bool | None = None, *,
                      config: LogConfig | None = None) -> None:
    """Structured logs for every logger (stdlib and structlog alike): on stderr, or in a rotating file.

    Without arguments, what the root options set (``--log-level``, ``--json-logs``,
    ``--log-file``...) is applied again, so a subcommand never undoes them.
    ``json_logs`` gives one JSON object per line for log shippers; otherwise a
    readable key=value line. Secrets never reach a log: credentials are passed by
    reference and only their names are logged.
    """
    global _current
    base = config or _current
    _current = replace(base, level=level if level is not None else base.level,
                       json_logs=json_logs if json_logs is not None else base.json_logs)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (structlog.processors.JSONRenderer() if _current.json_logs
                     else structlog.dev.ConsoleRenderer(colors=False))
    handler: logging.Handler
    if _current.log_file:
        path = Path(_current.log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=_current.max_bytes, backupCount=_current.backups,
                                      encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    for old in root.handlers:
        if old is not handler and isinstance(old, logging.FileHandler):
            old.close()
    root.handlers[:] = [handler]
    root.setLevel(_level(_current.level))
    library = _level(_current.library_level)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(library)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _level(name: str) -> int:
    value = logging.getLevelName(name.upper())
    return value if isinstance(value, int) else logging.WARNING


def settings() -> CoreSettings:
    return get_core_settings()


def schema() -> Schema:
    path = settings().schema_path
    return load_schema(path) if path else load_schema()


def open_store(url: str | None = None) -> GraphStore:
    """The store named by ``url``, or by CMDB_STORE_URL, or the embedded default."""
    import typer

    from cmdb.redact import redact_text
    from cmdb.store.change_feed import ChangeFeedStore
    from cmdb.store.cypher.transport import TransientStoreError
    from cmdb.store.factory import open_store as open_by_url

    cfg = settings()
    resolved = url or cfg.resolved_store_url()
    try:
        store = open_by_url(resolved, schema=schema())
    except TransientStoreError as exc:  # down or unreachable: say so, not a driver's traceback
        err_console.print(f"cmdb: the store cannot be reached: {redact_text(str(exc))}")
        raise typer.Exit(code=2) from None
    if isinstance(store, ChangeFeedStore):  # every store keeps one
        store.retention_ms = cfg.change_log_retention_s * 1000
    return store


def open_ingestor(store: GraphStore, listeners: Sequence[Listener] = ()) -> Ingestor:
    cfg = settings()
    return Ingestor(store, schema(), listeners=listeners, batch_size=cfg.ingest_batch_size,
                    aging_batch_size=cfg.aging_batch_size, run_lease_ms=cfg.run_lease_s * 1000)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def exit_cleanly(signum: int, frame: object) -> None:
    """A SIGTERM handler: end as an orderly exit, so ``finally`` blocks (stopping what was started) run."""
    raise SystemExit(0)
