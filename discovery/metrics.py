"""The scheduler's own Prometheus metrics and health endpoint (issue 25 item 4).

Per job: when its last execution started and last succeeded, how long the last
one took, how many failed in a row, and what runs did (items created, updated,
staled, retired, rejected). Served on a small HTTP server of its own beside the
scheduler (``cmdb scheduler --metrics-port``): ``/metrics`` in Prometheus' text
format, ``/healthz`` 200 while the scheduler's event loop beats, 503 once it has
not for ``stale_after`` seconds. The alert rules in ``docs/operations.md`` read
these series.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

if TYPE_CHECKING:
    from discovery.job_runner import JobOutcome

# Run counts summed into the item counters, under the label the rules use.
_ITEM_KINDS = {"created": "created", "updated": "updated", "unchanged": "unchanged", "stale": "staled",
               "retired": "retired", "rejected": "rejected"}


class SchedulerMetrics:
    """Per-job series in a registry of their own (not the API's), fed by the scheduler's hooks."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.registry = CollectorRegistry()
        labels = ["job"]
        self.last_start = Gauge("cmdb_job_last_start_timestamp_seconds", "When the job's last execution started.",
                                labels, registry=self.registry)
        self.last_end = Gauge("cmdb_job_last_end_timestamp_seconds", "When the job's last execution ended.",
                              labels, registry=self.registry)
        self.last_success = Gauge("cmdb_job_last_success_timestamp_seconds",
                                  "When an execution of the job last ended complete.", labels, registry=self.registry)
        self.last_duration = Gauge("cmdb_job_last_duration_seconds", "How long the job's last execution took.",
                                   labels, registry=self.registry)
        self.failures = Gauge("cmdb_job_consecutive_failures",
                              "Executions of the job in a row that did not end complete (0 after a complete one).",
                              labels, registry=self.registry)
        self.executions = Counter("cmdb_job_executions", "Executions of the job, by result.", ["job", "status"],
                                  registry=self.registry)
        self.items = Counter("cmdb_job_items", "Items the job's runs created, updated, staled, retired or rejected.",
                             ["job", "kind"], registry=self.registry)
        self.last_items = Gauge("cmdb_job_last_items", "Items the job's last execution created, updated, staled, "
                                "retired or rejected.", ["job", "kind"], registry=self.registry)
        self.heartbeat = Gauge("cmdb_scheduler_heartbeat_timestamp_seconds",
                               "The scheduler's event loop last beat at this time.", registry=self.registry)
        self._started: dict[str, float] = {}
        self.last_beat: float | None = None
        self._lock = threading.Lock()

    def register(self, job: str) -> None:
        """Show a scheduled job's series from the start (at zero), before its first execution."""
        self.failures.labels(job=job)
        for kind in _ITEM_KINDS.values():
            self.items.labels(job=job, kind=kind)

    def started(self, job: str) -> None:
        now = self.clock()
        with self._lock:
            self._started[job] = now
        self.last_start.labels(job=job).set(now)

    def finished(self, outcome: JobOutcome) -> None:
        now = self.clock()
        job = outcome.job
        self.executions.labels(job=job, status=outcome.status).inc()
        if outcome.status == "skipped":  # a due run that found the last one running: not an execution
            return
        with self._lock:
            started = self._started.pop(job, None)
        self.last_end.labels(job=job).set(now)
        if started is not None:
            self.last_duration.labels(job=job).set(now - started)
        if outcome.status == "complete":
            self.last_success.labels(job=job).set(now)
            self.failures.labels(job=job).set(0)
        else:
            self.failures.labels(job=job).inc()
        counts = outcome.counts
        for key, kind in _ITEM_KINDS.items():
            value = counts.get(key, 0)
            self.items.labels(job=job, kind=kind).inc(value)
            self.last_items.labels(job=job, kind=kind).set(value)

    def beat(self) -> None:
        self.last_beat = self.clock()
        self.heartbeat.set(self.last_beat)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` and ``/healthz`` on a thread of their own (the scheduler's loop may be busy)."""

    def __init__(self, metrics: SchedulerMetrics, host: str, port: int, stale_after: float = 30.0) -> None:
        self.metrics = metrics
        self.stale_after = stale_after
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, CONTENT_TYPE_LATEST, owner.metrics.exposition())
                elif path == "/healthz":
                    status, body = owner.health()
                    self._send(status, "application/json", json.dumps(body).encode())
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds would drown the scheduler's log

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="cmdb-scheduler-metrics", daemon=True)

    def health(self) -> tuple[int, dict[str, object]]:
        beat = self.metrics.last_beat
        age = self.metrics.clock() - beat if beat is not None else None
        alive = age is not None and age <= self.stale_after
        return (200 if alive else 503), {"status": "ok" if alive else "unresponsive",
                                         "seconds_since_heartbeat": None if age is None else round(age, 3)}

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
