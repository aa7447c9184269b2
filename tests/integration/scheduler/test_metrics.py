"""The scheduler's own /metrics and /healthz, and the shipped alert rules (issue 25 item 4).

A real `cmdb scheduler` process runs a job that succeeds (the bundled sample scanner) and
one whose only target never answers (SNMP to a port where nothing listens), every second;
its metrics are read over HTTP as Prometheus would. The rules are checked and unit-tested
with Prometheus' own promtool (Debian package `prometheus`, scripts/system-deps.sh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from cmdb.store.sqlite import SQLiteStore
from schema import load_schema

CMDB = str(Path(sys.executable).with_name("cmdb"))
RULES = Path(__file__).parents[3] / "docs" / "prometheus"


def _promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is required: apt-get install -y prometheus (scripts/system-deps.sh)"
    return found


def test_shipped_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    check = subprocess.run([_promtool(), "check", "rules", str(RULES / "cmdb-alerts.yml")], capture_output=True,
                           text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 6 rules found" in check.stdout
    tested = subprocess.run([_promtool(), "test", "rules", "cmdb-alerts.test.yml"], cwd=RULES, capture_output=True,
                            text=True, timeout=60, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_scheduler_serves_per_job_metrics_and_health(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  - {name: estate, scanner: sample, schedule: {interval: 1}, options: {apps: 1}}\n"
        "  - name: campus\n    scanner: snmp\n    schedule: {interval: 1}\n"
        "    credentials: {community: env:CMDB_TEST_COMMUNITY}\n"
        f"    options: {{scope: campus-a, port: {dead_port}, targets: [{{seeds: [127.0.0.1]}}], timeout: 0.2, "
        "retries: 0}\n", encoding="utf-8")
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data"), "CMDB_TEST_COMMUNITY": "public", "COLUMNS": "200"}
    launched = time.time()
    proc = subprocess.Popen([CMDB, "scheduler", "-j", str(jobs), "--metrics-port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        port = None
        for line in proc.stdout:
            match = re.search(r"scheduler metrics: http://127\.0\.0\.1:(\d+)/metrics", line)
            if match:
                port = int(match.group(1))
                break
        assert port is not None
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        while time.monotonic() < deadline:
            status, text = _get(f"{base}/metrics")
            assert status == 200
            samples = _samples(text)
            if samples.get(("cmdb_job_consecutive_failures", (("job", "campus"),)), 0) >= 3 and \
                    samples.get(("cmdb_job_last_success_timestamp_seconds", (("job", "estate"),)), 0) > 0:
                break
            time.sleep(0.3)
        status, body = _get(f"{base}/healthz")
        assert (status, json.loads(body)["status"]) == (200, "ok")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=90)
    stopped = time.time()
    # Every campus execution failed (its one seed is silent), so its streak is all its executions.
    failures = samples[("cmdb_job_consecutive_failures", (("job", "campus"),))]
    assert failures >= 3
    assert failures == samples[("cmdb_job_executions_total", (("job", "campus"), ("status", "incomplete")))]
    assert ("cmdb_job_executions_total", (("job", "campus"), ("status", "complete"))) not in samples
    assert samples[("cmdb_job_consecutive_failures", (("job", "estate"),))] == 0
    assert ("cmdb_job_last_success_timestamp_seconds", (("job", "campus"),)) not in samples
    for job in ("estate", "campus"):
        start = samples[("cmdb_job_last_start_timestamp_seconds", (("job", job),))]
        assert launched <= start <= stopped
        assert 0 <= samples[("cmdb_job_last_duration_seconds", (("job", job),))] <= stopped - launched
    store = SQLiteStore(tmp_path / "data" / "cmdb.sqlite", load_schema())
    try:
        created = sum(r.counts.get("created", 0) for r in store.list_runs(source="sample", limit=10_000))
        cis = store.counts().cis
    finally:
        store.close()
    # What the metrics say the job created is what its runs recorded (all by the first run,
    # which had succeeded before the last scrape; the later ones find everything unchanged).
    assert created == cis  # every CI in the store, all from the estate job (the campus job reached nothing)
    assert samples[("cmdb_job_items_total", (("job", "estate"), ("kind", "created")))] == created
    assert samples[("cmdb_job_items_total", (("job", "campus"), ("kind", "created")))] == 0
