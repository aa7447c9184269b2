"""The scheduler prunes run records and history on its own schedule (the jobs file's
``retention:``, issue 25 item 7): a real `cmdb scheduler` running a job every second keeps
only the last few seconds of run records, while every execution is reported."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from cmdb.store.sqlite import SQLiteStore
from schema import load_schema

CMDB = str(Path(sys.executable).with_name("cmdb"))
RETAINED_S = 3


def test_scheduler_runs_retention_on_its_own_schedule(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"retention: {{interval: 1, runs_days: {RETAINED_S / 86400}, history_days: {RETAINED_S / 86400}}}\n"
        "jobs:\n"
        "  - {name: estate, scanner: sample, schedule: {interval: 1}, options: {apps: 1}}\n", encoding="utf-8")
    data = tmp_path / "data"
    env = {**os.environ, "CMDB_DATA_DIR": str(data), "COLUMNS": "200"}
    log_path = tmp_path / "scheduler.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([CMDB, "--log-level", "INFO", "scheduler", "-j", str(jobs)], stdout=log,
                                stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while len(re.findall(r"^job estate: complete", log_path.read_text(), flags=re.MULTILINE)) < 20:
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)
    executions = len(re.findall(r"^job estate: \w+", log_path.read_text(), flags=re.MULTILINE))
    store = SQLiteStore(data / "cmdb.sqlite", load_schema())
    try:
        kept = store.list_runs(limit=10_000)
    finally:
        store.close()
    deleted = sum(int(n) for n in re.findall(r"retention: deleted (\d+) run records", log_path.read_text()))
    scopes = {r.scope for r in kept}  # the sample estate reports several scopes: one run each per execution
    assert executions >= 20
    # About RETAINED_S seconds of runs stay (one execution a second, plus a second or two of
    # pruning lag); every older one was deleted.
    assert 0 < len(kept) <= len(scopes) * (RETAINED_S + 3), (len(kept), scopes)
    assert deleted >= len(scopes) * (executions - RETAINED_S - 6), (deleted, executions)
