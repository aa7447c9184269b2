"""Soak (issue 25 item 1's must-show): `cmdb scheduler` with a one-second interval for a few
hundred runs keeps its open files, its memory and its store's size flat.

Two jobs every second: the SNMP scanner against a real agent (snmpsim serving the lab's core1,
the cheapest real scanner target: one device walk a run) and the bundled sample scanner (a
synthetic estate: no network, but the whole ingest and aging path). Open files and RSS of the
scheduler process are read from /proc after a warm-up and then every few runs; they must stay
within a small bound of the warm-up's. So must the store's size on disk (the database file and
its write-ahead log): the jobs file's retention prunes run records and history older than
about nine seconds every two seconds, each write prunes change-log entries older than five
seconds, and the scheduler checkpoints and truncates the WAL after each run and purge
(before, the WAL grew from 13.6 to 41.6 MB over 180 runs).
Executions are counted from the scheduler's own output (one line per execution), since
retention deletes the run records.
"""

from __future__ import annotations

import os
import re
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
WARM_UP_RUNS = 50  # executions of the two jobs (a due run skipped while the last one runs is none)
TOTAL_RUNS = 200
# A sample may land while a run is in flight: its thread's SQLite connection (the file, its
# WAL and shared memory) and the scanner's sockets are open then. Those come and go; what
# must not grow is the floor, the files open between runs. (The leak this guards against
# went from 11 to 43 open files in 12 runs.) Three threads may be in flight at once: the two
# jobs' and the retention's, each with its connection's three files.
IN_FLIGHT_FDS = 16
FLOOR_BOUND = 1
RSS_BOUND_MIB = 8
STORE_BOUND_MIB = 1.0  # growth of database + WAL past the warm-up's largest
_EXECUTION = re.compile(r"^job (?:estate|net): (complete|incomplete|failed)", re.MULTILINE)

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


def _store_mib(db: Path) -> float:
    wal = db.with_name(db.name + "-wal")
    return (db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)) / 2**20


def _runs(db: Path) -> list[tuple[str | None, RunStatus]]:
    store = SQLiteStore(db, load_schema())
    try:
        return [(r.job, r.status) for r in store.list_runs(limit=100_000)]
    finally:
        store.close()


def test_scheduler_soak_keeps_open_files_memory_and_store_size_flat(core1: Endpoint, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "retention: {interval: 2, runs_days: 0.0001, history_days: 0.0001}\n"
        "jobs:\n"
        "  - {name: estate, scanner: sample, schedule: {interval: 1}, options: {apps: 1}}\n"
        "  - name: net\n    scanner: snmp\n    schedule: {interval: 1}\n"
        "    credentials: {community: env:CMDB_TEST_SNMP_COMMUNITY}\n"
        f"    options: {{scope: soak, port: {core1.port}, targets: [{{seeds: [{core1.host}]}}], timeout: 2.0, "
        "retries: 1}\n", encoding="utf-8")
    data = tmp_path / "data"
    # The store's change log keeps entries for CMDB_CHANGE_LOG_RETENTION_S (15 minutes by default,
    # longer than this soak): pruned after 5 s here, as run records and history are after ~9 s.
    env = {**os.environ, "CMDB_DATA_DIR": str(data), "CMDB_TEST_SNMP_COMMUNITY": "public", "COLUMNS": "200",
           "CMDB_CHANGE_LOG_RETENTION_S": "5"}
    log_path = tmp_path / "scheduler.log"
    log = log_path.open("w")
    proc = subprocess.Popen([CMDB, "scheduler", "-j", str(jobs)], stdout=log, stderr=subprocess.STDOUT, env=env)
    db = data / "cmdb.sqlite"
    samples: list[tuple[int, int, float, float]] = []  # (executions, fds, rss, store MiB)
    try:
        deadline = time.monotonic() + 600
        next_sample = WARM_UP_RUNS
        executions = 0
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            executions = len(_EXECUTION.findall(log_path.read_text()))
            if executions >= next_sample:
                samples.append((executions, _fds(proc.pid), _rss_mib(proc.pid), _store_mib(db)))
                next_sample += 10
            if executions >= TOTAL_RUNS:
                break
            assert time.monotonic() < deadline, f"only {executions} executions"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)
        log.close()
    runs = _runs(db)  # what retention kept
    statuses = {(job, status) for job, status in runs}
    assert statuses <= {("estate", RunStatus.COMPLETE), ("net", RunStatus.COMPLETE),
                        ("estate", RunStatus.INCOMPLETE), ("net", RunStatus.INCOMPLETE)}
    print("soak samples (executions, open files, RSS MiB, store MiB):", samples)
    outcomes = _EXECUTION.findall(log_path.read_text())
    assert outcomes.count("complete") >= len(outcomes) * 0.9, outcomes  # the last may be stopped
    assert {job for job, _ in runs} == {"estate", "net"}
    assert len(runs) < executions  # retention ran: each execution left at least two run records
    fds = [f for _, f, _, _ in samples]
    third = len(fds) // 3
    floor_early, floor_late = min(fds[:third]), min(fds[-third:])
    assert floor_late - floor_early <= FLOOR_BOUND, samples
    assert max(fds) - floor_early <= IN_FLIGHT_FDS, samples
    rss0 = samples[0][2]
    assert max(r for _, _, r, _ in samples) - rss0 <= RSS_BOUND_MIB, samples
    sizes = [size for *_, size in samples]
    assert max(sizes[third:]) - max(sizes[:third]) <= STORE_BOUND_MIB, samples
