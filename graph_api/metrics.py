"""Prometheus metrics of one app: request counts and latency, GraphQL operations, ingest counters.

Each app gets its own registry (tests run several apps in one process).

Under ``cmdb serve --workers N`` every worker counts into files of a shared
directory (``PROMETHEUS_MULTIPROC_DIR``, set by the supervisor before it spawns
them: prometheus_client's multiprocess mode), and ``/metrics`` answers the sum
over all workers, dead ones included, so a counter never goes down between two
scrapes whichever worker answers them.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

from cmdb.ingest import IngestReport
from graph_api.limits import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_ROUTES = {"/graphql", "/healthz", "/metrics", "/api/v1/collect"}


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("cmdb_http_requests_total", "HTTP requests", ["method", "path", "status"],
                                registry=self.registry)
        self.latency = Histogram("cmdb_http_request_seconds", "HTTP request latency", ["method", "path"],
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.graphql_operations = Histogram(
            "cmdb_graphql_operation_seconds", "GraphQL operations (parse, validation, execution) by name, type "
            "and root fields", ["operation", "type", "root_field"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry)
        self.result_cache = Counter("cmdb_graphql_result_cache_total",
                                    "Index-only GraphQL queries answered from the result cache (hit) or not (miss)",
                                    ["outcome"], registry=self.registry)
        self.ingest_runs = Counter("cmdb_collect_runs_total", "Collector batches ingested", ["source", "status"],
                                   registry=self.registry)
        self.ingest_items = Counter("cmdb_collect_items_total", "Collector items by outcome", ["source", "outcome"],
                                    registry=self.registry)

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's registry, or every worker's sum in multiprocess mode."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated in prometheus_client
            return generate_latest(registry)
        return generate_latest(self.registry)

    def record_ingest(self, source: str, status: str, report: IngestReport) -> None:
        self.ingest_runs.labels(source, status).inc()
        for outcome, count in report.as_counts().items():
            if count:
                self.ingest_items.labels(source, outcome).inc(count)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI middleware (no per-request task or body buffering) recording count and latency."""

        async def metered(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope["path"] if scope["path"] in _ROUTES else "other"
            status = 500
            start = time.perf_counter()

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                self.latency.labels(scope["method"], path).observe(time.perf_counter() - start)
                self.requests.labels(scope["method"], path, str(status)).inc()

        return metered
