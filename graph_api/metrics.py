"""Prometheus metrics of one app: request counts and latency, GraphQL operations, ingest counters.

Each app gets its own registry (tests run several apps in one process).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response

from cmdb.ingest import IngestReport

_ROUTES = {"/graphql", "/healthz", "/metrics", "/api/v1/collect"}


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("cmdb_http_requests_total", "HTTP requests", ["method", "path", "status"],
                                registry=self.registry)
        self.latency = Histogram("cmdb_http_request_seconds", "HTTP request latency", ["method", "path"],
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                                 registry=self.registry)
        self.ingest_runs = Counter("cmdb_collect_runs_total", "Collector batches ingested", ["source", "status"],
                                   registry=self.registry)
        self.ingest_items = Counter("cmdb_collect_items_total", "Collector items by outcome", ["source", "outcome"],
                                    registry=self.registry)

    def record_ingest(self, source: str, status: str, report: IngestReport) -> None:
        self.ingest_runs.labels(source, status).inc()
        for outcome, count in report.as_counts().items():
            if count:
                self.ingest_items.labels(source, outcome).inc(count)

    async def middleware(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path if request.url.path in _ROUTES else "other"
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            self.latency.labels(request.method, path).observe(time.perf_counter() - start)
            self.requests.labels(request.method, path, str(status)).inc()
