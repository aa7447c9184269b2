"""The jobs and scheduler commands as a user runs them: real processes, the bundled sample scanner, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from cmdb.ingest import Ingestor
from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.jobs import parse_jobs
from discovery.scheduler import start_scheduler_in_background
from schema import load_schema

CMDB = str(Path(sys.executable).with_name("cmdb"))


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CMDB_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}


def _runs(tmp_path: Path) -> list[tuple[str | None, str, RunStatus]]:
    store = SQLiteStore(tmp_path / "data" / "cmdb.sqlite", load_schema())
    try:
        return [(r.job, r.scope, r.status) for r in store.list_runs(limit=1000)]
    finally:
        store.close()


def test_validate_refuses_a_bad_file_naming_lines(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(textwrap.dedent("""\
        jobs:
          - name: a
            scanner: sample
            schedule: {cron: "* * 32 * *"}
          - name: b
            scanner: telnet
          - name: c
            scanner: aws
            credentials: {access_key_id: env:CMDB_TEST_NOPE, secret_access_key: env:CMDB_TEST_NOPE}
        """))
    env = _env(tmp_path)
    env.pop("CMDB_TEST_NOPE", None)
    result = subprocess.run([CMDB, "jobs", "validate", "-j", str(jobs)], capture_output=True, text=True,
                            timeout=60, env=env, check=False)
    assert result.returncode == 2
    lines = [line.split(": ", 2)[:2] for line in result.stderr.strip().splitlines()]
    assert lines == [[f"{jobs}:4", "jobs[0].schedule.cron"], [f"{jobs}:6", "jobs[1].scanner"],
                     [f"{jobs}:9", "jobs[2].credentials.access_key_id"],
                     [f"{jobs}:9", "jobs[2].credentials.secret_access_key"]]


def test_discover_job_then_scheduler_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - {name: estate, scanner: sample, schedule: {interval: 1}, options: {apps: 2}}\n")
    env = _env(tmp_path)
    once = subprocess.run([CMDB, "discover", "job", "estate", "-j", str(jobs)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert once.returncode == 0, once.stderr
    assert "job estate: complete" in once.stdout
    first = _runs(tmp_path)
    assert first and {(job, status) for job, _, status in first} == {("estate", RunStatus.COMPLETE)}

    proc = subprocess.Popen([CMDB, "scheduler", "-j", str(jobs)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(_runs(tmp_path)) <= len(first) and time.monotonic() < deadline:
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, out
    assert "scheduler stopped" in out
    after = _runs(tmp_path)
    assert len(after) > len(first)
    assert {job for job, _, _ in after} == {"estate"}
    # Whatever SIGTERM interrupted ended incomplete; nothing is left running.
    assert RunStatus.RUNNING not in {status for _, _, status in after}


def test_background_scheduler_runs_and_stops(tmp_path: Path) -> None:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "bg.sqlite", catalog)
    try:
        jobs = parse_jobs("jobs:\n  - {name: bg, scanner: sample, schedule: {interval: 1}, options: {apps: 1}}\n")
        handle = start_scheduler_in_background(jobs, Ingestor(store, catalog), tmp_path / "locks")
        deadline = time.monotonic() + 30
        while not store.list_runs(limit=5) and time.monotonic() < deadline:
            time.sleep(0.2)
        handle.stop(timeout=30)
        assert not handle.thread.is_alive() and handle.error is None
        runs = store.list_runs(limit=1000)
        assert runs and {r.job for r in runs} == {"bg"}
        assert RunStatus.RUNNING not in {r.status for r in runs}
    finally:
        store.close()
