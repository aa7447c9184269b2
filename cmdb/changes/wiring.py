"""Build the change-planning use cases over a store and an impact engine (for the CLI and the API)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cmdb.changes.planner import ChangePlanner, ImpactEngine, PlanOptions
from cmdb.changes.policy import load_policy
from cmdb.changes.risk import load_risk_rules
from cmdb.changes.service import ChangeService
from cmdb.observation import now_ms
from cmdb.settings import get_core_settings
from cmdb.store.changes_sqlite import SQLiteChangeRepository
from cmdb.store.protocol import GraphStore
from schema import Schema


class ChangeSettings(BaseSettings):
    """Where change records live and which risk rules apply (``CMDB_CHANGE_`` prefix).

    ``db_path``: the SQLite file for change records; by default the embedded
    store's own file, or ``changes.sqlite`` in the data directory for other backends.
    ``risk_rules``: a YAML file overriding the default risk rules (docs/change-planning.md).
    ``models``: the change models file (YAML; default: the packaged ``change_models.yaml``).
    """

    model_config = SettingsConfigDict(env_prefix="CMDB_CHANGE_", extra="ignore")

    db_path: Path | None = None
    risk_rules: Path | None = None
    models: Path | None = None
    max_depth: int = Field(default=8, ge=0, le=20)
    max_nodes: int = Field(default=10_000, ge=1, le=1_000_000)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)


def get_change_settings() -> ChangeSettings:
    """Read the settings from the environment now (not at import time)."""
    return ChangeSettings()


def change_db_path(store: GraphStore, settings: ChangeSettings) -> str:
    """The change records' SQLite file: configured, else the embedded store's file, else one in the data dir."""
    if settings.db_path is not None:
        return str(settings.db_path)
    path = getattr(store, "path", None)
    if isinstance(path, str) and path and path != ":memory:":
        return path
    return str(get_core_settings().data_dir / "changes.sqlite")


def build_change_service(
    store: GraphStore,
    schema: Schema,
    impact: ImpactEngine,
    settings: ChangeSettings | None = None,
    clock: Callable[[], int] = now_ms,
) -> ChangeService:
    """A ChangeService over ``store`` with its repository, risk rules and bounds from ``settings``."""
    cfg = settings or get_change_settings()
    repository = SQLiteChangeRepository(change_db_path(store, cfg))
    planner = ChangePlanner(
        impact, store, repository, schema, rules=load_risk_rules(cfg.risk_rules),
        options=PlanOptions(max_depth=cfg.max_depth, max_nodes=cfg.max_nodes, min_confidence=cfg.min_confidence),
        clock=clock,
    )
    return ChangeService(planner, repository, clock=clock, policy=load_policy(cfg.models))
