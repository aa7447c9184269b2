"""Settings of the CMDB core (pydantic-settings, ``CMDB_`` prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "cmdb"


class CoreSettings(BaseSettings):
    """Where the graph lives and how ingest behaves.

    ``store_url`` names the backend: ``sqlite:///path`` (default, embedded),
    ``neo4j://user@host:7687`` or ``falkordb://host:port/graph``. Passwords never
    go in the URL: they come from ``CMDB_STORE_PASSWORD`` or ``CMDB_STORE_PASSWORD_FILE``.
    """

    model_config = SettingsConfigDict(env_prefix="CMDB_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    store_url: str | None = None
    ingest_batch_size: int = Field(default=2000, ge=1, le=100_000)
    aging_batch_size: int = Field(default=1000, ge=1, le=100_000)
    # A run whose owner cannot be asked (another machine) is abandoned after this long without a heartbeat.
    run_lease_s: int = Field(default=3600, ge=60)
    # How long the store's change log keeps an entry: a follower (an API replica) further behind
    # than this reloads its topology index whole. Every write prunes what is older.
    change_log_retention_s: int = Field(default=900, ge=1)
    schema_path: Path | None = None

    def resolved_store_url(self) -> str:
        if self.store_url:
            return self.store_url
        return f"sqlite:///{self.data_dir / 'cmdb.sqlite'}"


def get_core_settings() -> CoreSettings:
    """Read settings from the environment now (not at import time)."""
    return CoreSettings()
