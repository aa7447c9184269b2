"""Settings of the API (pydantic-settings, ``CMDB_API_`` prefix), obtained through a function."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Limits are on by default; raising them is a deliberate act of configuration."""

    model_config = SettingsConfigDict(env_prefix="CMDB_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    graphiql: bool = True
    max_depth: int = Field(default=10, ge=1, le=50)  # nesting of ordinary fields
    max_introspection_depth: int = Field(default=15, ge=1, le=50)  # GraphiQL's own query needs ~13
    max_aliases: int = Field(default=50, ge=1, le=10_000)
    max_tokens: int = Field(default=3_000, ge=100, le=1_000_000)  # parsing costs ~0.1 ms/token here
    max_fields: int = Field(default=1_000, ge=10, le=100_000)  # field selections per document
    # Estimated values an answer may hold (graph_api.document_cost): a default impact with
    # explanation paths (maxNodes 10,000, paths of up to 7 steps) is 260,000 to 570,000.
    max_cost: int = Field(default=1_000_000, ge=100)
    max_analyses: int = Field(default=10, ge=1, le=1_000)  # impact/dependencies/paths/topology/SPOF per request
    max_query_bytes: int = Field(default=100_000, ge=1_000, le=10_000_000)
    max_collect_bytes: int = Field(default=50_000_000, ge=1_000)
    max_collect_items: int = Field(default=100_000, ge=1)
    page_cap: int = Field(default=500, ge=1, le=10_000)
    store_threads: int = Field(default=4, ge=0, le=64)  # 0: store calls inline on the event loop
    # Results of index-only queries (impact, dependencies, paths, SPOF) kept until the graph
    # changes (graph_api.result_cache); 0 entries turns the cache off.
    result_cache_size: int = Field(default=1024, ge=0, le=1_000_000)
    result_cache_items: int = Field(default=200_000, ge=1_000, le=100_000_000)  # list items held, all entries
    # Seconds a client has to deliver each request, head and body (cmdb_cli.read_deadline).
    read_timeout: float = Field(default=10.0, gt=0, le=3600)
    # The change log (cmdb.store.change_feed): how often an idle server catches up on what
    # other processes wrote, and how long a request asking for a log position
    # (X-Cmdb-Min-Position) may wait for it before it is refused.
    follow_interval_s: float = Field(default=0.2, gt=0, le=60)
    min_position_wait_s: float = Field(default=5.0, ge=0, le=300)
    metrics_public: bool = False  # /metrics without a token (only behind a trusted network)


def get_api_settings() -> ApiSettings:
    """Read the API settings from the environment now (not at import time)."""
    return ApiSettings()
