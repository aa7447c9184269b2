"""``cmdb serve --with-scheduler``: the API process also runs the jobs file's schedules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from tests.api.conftest import free_port

CMDB = [sys.executable, "-m", "cmdb_cli.main"]


def test_scheduled_discovery_shows_up_in_the_served_api(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - name: sample\n    scanner: sample\n    schedule: {interval: 2}\n    options: {apps: 4}\n")
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(jobs)}
    env.pop("CMDB_STORE_URL", None)
    created = subprocess.run([*CMDB, "token", "create", "t", "--role", "viewer", "--json"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    auth = {"Authorization": f"Bearer {json.loads(created.stdout)['token']}"}
    port = free_port()
    log = (tmp_path / "serve.log").open("w")  # a file, not a pipe: nobody drains a pipe while we poll
    proc = subprocess.Popen([*CMDB, "serve", "--port", str(port), "--with-scheduler"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        deadline = time.monotonic() + 120
        runs: list[dict[str, object]] = []
        services: list[str] = []
        while time.monotonic() < deadline and not (runs and services):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(1)
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/graphql", headers=auth, timeout=10, json={
                    "query": '{ scanRuns(job: "sample", limit: 20) { job status } '
                             'cis(filter: {ciClass: BUSINESS_SERVICE}, first: 10) { edges { node { name } } } }'})
            except httpx.TransportError:
                continue
            data = reply.json().get("data") or {}
            runs = data.get("scanRuns") or []
            services = sorted(e["node"]["name"] for e in (data.get("cis") or {}).get("edges", []))
        assert services == ["service-0000"], reply.text
        assert {(r["job"], r["status"]) for r in runs} >= {("sample", "COMPLETE")}
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert (health.status_code, health.json()["status"], health.json()["scheduler"]["status"]) == (200, "ok", "ok")
        status = httpx.post(f"http://127.0.0.1:{port}/graphql", headers=auth, timeout=10, json={
            "query": "{ jobStatus { ... on JobStatuses { jobs { job lastResult failureStreak lastSuccessAt nextRunAt "
                     "lastRun { runId scope durationMs startedAt finishedAt } } } } }"}).json()["data"]["jobStatus"]
        (job,) = status["jobs"]
        last = job["lastRun"]
        assert (job["job"], last["scope"], job["failureStreak"]) == ("sample", "job:sample", 0)
        if job["lastResult"] == "running":  # caught mid-run: no end, no duration yet
            assert (last["finishedAt"], last["durationMs"]) == (None, None)
        else:
            assert job["lastResult"] == "complete" and job["lastSuccessAt"] == last["finishedAt"]
            assert last["durationMs"] == last["finishedAt"] - last["startedAt"]
        # The last job run may be one still running (every 2 s); the next is due one interval after it.
        assert job["nextRunAt"] >= last["startedAt"] + 2000
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()
    # Shutdown stopped the scheduler: no run was left "running" (an interrupted one ends incomplete).
    store = SQLiteStore(tmp_path / "cmdb.sqlite")
    statuses = {r.status for r in store.list_runs(limit=1000)}
    store.close()
    assert statuses <= {RunStatus.COMPLETE, RunStatus.INCOMPLETE} and RunStatus.COMPLETE in statuses
