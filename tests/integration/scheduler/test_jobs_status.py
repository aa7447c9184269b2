"""``cmdb jobs status``: each job's last run, result, last success, failures in a row and next run.

Real processes: the bundled sample scanner, and the SNMP scanner against a port
where nothing answers (its seed is silent, so each of its runs ends incomplete).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema

CMDB = str(Path(sys.executable).with_name("cmdb"))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cmdb(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "250", "CMDB_TEST_COMMUNITY": "public"}
    return subprocess.run([CMDB, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_jobs_status_shows_last_run_result_streak_and_next_run(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  - {name: estate, scanner: sample, schedule: {interval: 3600}, options: {apps: 1}}\n"
        "  - name: campus\n    scanner: snmp\n    credentials: {community: env:CMDB_TEST_COMMUNITY}\n"
        f"    options: {{scope: campus, port: {_free_udp_port()}, targets: [{{seeds: [127.0.0.1]}}], "
        "timeout: 0.2, retries: 0}\n"
        "  - {name: never, scanner: sample, schedule: {cron: '0 3 * * *'}}\n", encoding="utf-8")
    assert _cmdb(tmp_path, "discover", "job", "estate", "-j", str(jobs)).returncode == 0
    for _ in range(2):
        failing = _cmdb(tmp_path, "discover", "job", "campus", "-j", str(jobs))
        assert failing.returncode == 1, failing.stdout + failing.stderr

    shown = _cmdb(tmp_path, "jobs", "status", "-j", str(jobs), "--json")
    assert shown.returncode == 0, shown.stderr
    status: dict[str, dict[str, Any]] = {s["job"]: s for s in json.loads(shown.stdout)}

    store = SQLiteStore(tmp_path / "data" / "cmdb.sqlite", load_schema())
    try:
        runs = store.list_runs(limit=100)
    finally:
        store.close()
    job_runs = {name: [r for r in runs if r.scope == f"job:{name}"] for name in ("estate", "campus", "never")}
    (estate,) = job_runs["estate"]
    latest_campus, first_campus = job_runs["campus"]
    assert job_runs["never"] == []
    # Every scope run of an execution names its job run.
    assert {r.scope: r.job_run_id for r in runs if r.job == "estate" and r.scope != "job:estate"} == {
        scope: estate.run_id for scope in ("100000000000/eu-west-1", "business", "hosts/100000000000/eu-west-1",
                                           "onprem")}
    # The SNMP scan's links and its scope (the seed never answered: it has no part of its own).
    assert {(r.scope, r.job_run_id) for r in runs if r.job == "campus" and r.scope != "job:campus"} == {
        (scope, job_run.run_id) for scope in ("campus:links", "campus") for job_run in (latest_campus, first_campus)}

    # A scope's run records its scan, not only its ingest: the silent seed was waited for (its 0.2 s
    # timeout) between the scan's start and end, before the run's ingest began.
    for scope_run in (r for r in runs if r.job == "campus" and r.scope == "campus"):
        assert scope_run.scan_started_at is not None and scope_run.scan_finished_at is not None
        assert scope_run.finished_at is not None
        assert scope_run.scan_finished_at - scope_run.scan_started_at >= 200
        assert scope_run.scan_finished_at <= scope_run.started_at <= scope_run.finished_at
        assert scope_run.duration_ms == scope_run.finished_at - scope_run.scan_started_at
    assert status["estate"] == {
        "job": "estate", "result": "complete", "failure_streak": 0, "last_success_at": estate.finished_at,
        "next_run_at": estate.started_at + 3_600_000,
        "last_run": {"job_run_id": estate.run_id, "started_at": estate.started_at, "finished_at": estate.finished_at,
                     "duration_ms": estate.duration_ms, "errors": []}}
    assert (latest_campus.status, latest_campus.errors) == (RunStatus.INCOMPLETE, ["2 of 2 scope(s) incomplete: campus:links, campus"])
    assert status["campus"] == {
        "job": "campus", "result": "incomplete", "failure_streak": 2, "last_success_at": None, "next_run_at": None,
        "last_run": {"job_run_id": latest_campus.run_id, "started_at": latest_campus.started_at,
                     "finished_at": latest_campus.finished_at, "duration_ms": latest_campus.duration_ms,
                     "errors": ["2 of 2 scope(s) incomplete: campus:links, campus"]}}
    assert status["never"]["last_run"] is None and status["never"]["failure_streak"] == 0
    assert status["never"]["result"] is None and status["never"]["last_success_at"] is None

    table = _cmdb(tmp_path, "jobs", "status", "-j", str(jobs))
    assert table.returncode == 0, table.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in table.stdout.splitlines() if line.count("│") > 5}
    assert [rows["estate"][i] for i in (1, 4)] == ["complete", "0"]
    assert [rows["campus"][i] for i in (1, 3, 4, 5)] == ["incomplete", "-", "2", "-"]
