"""Soak (issue 25 item 1's must-show): `cmdb scheduler` with a one-second interval for a few
hundred runs keeps its open files and memory flat.

Two jobs every second: the SNMP scanner against a real agent (snmpsim serving the lab's core1,
the cheapest real scanner target: one device walk a run) and the bundled sample scanner (a
synthetic estate: no network, but the whole ingest and aging path). Open files and RSS of the
scheduler process are read from /proc after a warm-up and then every few runs; they must stay
within a small bound of the warm-up's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.snmp.client import Endpoint
from labs.snmp import device_files, free_udp_port
from labs.snmp.generate import DEVICES
from schema import load_schema
from tests.integration.snmp.agents import community, start_snmpsim, stop, wait_answers

CMDB = str(Path(sys.executable).with_name("cmdb"))
WARM_UP_RUNS = 80
TOTAL_RUNS = 300
# A sample may land while a run is in flight: its thread's SQLite connection (the file, its
# WAL and shared memory) and the scanner's sockets are open then. Those come and go; what
# must not grow is the floor, the files open between runs. (The leak this guards against
# went from 11 to 43 open files in 12 runs.)
IN_FLIGHT_FDS = 12
FLOOR_BOUND = 1
RSS_BOUND_MIB = 8

pytestmark = pytest.mark.slow


@pytest.fixture
def core1(tmp_path: Path) -> Iterator[Endpoint]:
    address = DEVICES["core1"].address
    endpoint = Endpoint(address, free_udp_port([address]))
    work = tmp_path / "sim"
    (work / "data").mkdir(parents=True)
    shutil.copy(device_files()["core1"], work / "data" / "public.snmprec")
    proc = start_snmpsim(work / "data", [endpoint], work)
    try:
        wait_answers(endpoint, community(), proc, work / "snmpsim.log")
        yield endpoint
    finally:
        stop(proc)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _runs(db: Path) -> list[tuple[str | None, RunStatus]]:
    store = SQLiteStore(db, load_schema())
    try:
        return [(r.job, r.status) for r in store.list_runs(limit=100_000)]
    finally:
        store.close()


def test_scheduler_soak_keeps_open_files_and_memory_flat(core1: Endpoint, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  - {name: estate, scanner: sample, schedule: {interval: 1}, options: {apps: 1}}\n"
        "  - name: net\n    scanner: snmp\n    schedule: {interval: 1}\n"
        "    credentials: {community: env:CMDB_TEST_SNMP_COMMUNITY}\n"
        f"    options: {{scope: soak, port: {core1.port}, targets: [{{seeds: [{core1.host}]}}], timeout: 2.0, "
        "retries: 1}\n", encoding="utf-8")
    data = tmp_path / "data"
    env = {**os.environ, "CMDB_DATA_DIR": str(data), "CMDB_TEST_SNMP_COMMUNITY": "public", "COLUMNS": "200"}
    log = (tmp_path / "scheduler.log").open("w")
    proc = subprocess.Popen([CMDB, "scheduler", "-j", str(jobs)], stdout=log, stderr=subprocess.STDOUT, env=env)
    samples: list[tuple[int, int, float]] = []  # (runs, fds, rss)
    try:
        deadline = time.monotonic() + 400
        next_sample = WARM_UP_RUNS
        runs: list[tuple[str | None, RunStatus]] = []
        while True:
            assert proc.poll() is None, (tmp_path / "scheduler.log").read_text()[-3000:]
            if (data / "cmdb.sqlite").exists():
                runs = _runs(data / "cmdb.sqlite")
            if len(runs) >= next_sample:
                samples.append((len(runs), _fds(proc.pid), _rss_mib(proc.pid)))
                next_sample += 10
            if len(runs) >= TOTAL_RUNS:
                break
            assert time.monotonic() < deadline, f"only {len(runs)} runs"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)
        log.close()
    statuses = {(job, status) for job, status in runs}
    assert statuses <= {("estate", RunStatus.COMPLETE), ("net", RunStatus.COMPLETE),
                        ("estate", RunStatus.INCOMPLETE), ("net", RunStatus.INCOMPLETE)}
    complete = sum(1 for _, s in runs if s is RunStatus.COMPLETE)
    assert complete >= TOTAL_RUNS * 0.9, statuses  # the last ones may be interrupted by the stop
    assert {job for job, _ in runs} == {"estate", "net"}
    print("soak samples (runs, open files, RSS MiB):", samples)
    fds = [f for _, f, _ in samples]
    third = len(fds) // 3
    floor_early, floor_late = min(fds[:third]), min(fds[-third:])
    assert floor_late - floor_early <= FLOOR_BOUND, samples
    assert max(fds) - floor_early <= IN_FLIGHT_FDS, samples
    rss0 = samples[0][2]
    assert max(r for _, _, r in samples) - rss0 <= RSS_BOUND_MIB, samples
