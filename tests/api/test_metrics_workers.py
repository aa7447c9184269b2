"""``cmdb serve --workers 2``: /metrics is every worker's sum (prometheus_client's multiprocess
mode, issue 25 item 4). Scraped 20 times under load, over new connections (the supervisor hands
them to either worker), no counter ever goes down, and the totals are every request made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import free_port, wait_for_healthz

CMDB = [sys.executable, "-m", "cmdb_cli.main"]
QUERY = "query Probe { __typename }"


def _counters(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every monotonic sample: counters' totals and histograms' buckets, counts and sums."""
    out = {}
    for family in text_string_to_metric_families(text):
        if family.type not in ("counter", "histogram"):
            continue
        for s in family.samples:
            if s.name.endswith(("_total", "_bucket", "_count", "_sum")):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_counters_aggregate_across_workers_and_never_decrease(tmp_path: Path) -> None:
    env = {**os.environ, "CMDB_DATA_DIR": str(tmp_path), "CMDB_JOBS_FILE": str(tmp_path / "absent.yaml")}
    env.pop("CMDB_STORE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    created = subprocess.run([*CMDB, "token", "create", "t", "--role", "viewer", "--json"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
    headers = {"Authorization": f"Bearer {json.loads(created.stdout)['token']}"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*CMDB, "serve", "--port", str(port), "--workers", "2"], env=env,
                                stdout=subprocess.DEVNULL, stderr=out, text=True)
    made = {"healthz": 0, "graphql": 0}
    stop = threading.Event()
    errors: list[str] = []

    def load() -> None:  # new connections each time, so both workers serve the load
        while not stop.is_set():
            try:
                if httpx.get(f"{url}/healthz", timeout=10).status_code == 200:
                    made["healthz"] += 1
                reply = httpx.post(f"{url}/graphql", json={"query": QUERY}, headers=headers, timeout=10)
                if reply.status_code == 200:
                    made["graphql"] += 1
            except httpx.HTTPError as exc:
                errors.append(repr(exc))

    loader = threading.Thread(target=load)
    try:
        wait_for_healthz(proc, url, 120, log.read_text)
        made["healthz"] = 0
        baseline = _counters(httpx.get(f"{url}/metrics", headers=headers, timeout=10).text)
        start_healthz = sum(v for (n, labels), v in baseline.items() if n == "cmdb_http_requests_total"
                            and ("path", "/healthz") in labels and ("status", "200") in labels)
        loader.start()
        previous = baseline
        for _ in range(20):
            seen, deadline = made["healthz"], time.monotonic() + 30
            while made["healthz"] < seen + 2 and time.monotonic() < deadline:  # requests between scrapes
                time.sleep(0.01)
            reply = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
            assert reply.status_code == 200
            current = _counters(reply.text)
            went_down = {k: (previous[k], v) for k, v in current.items() if k in previous and v < previous[k]}
            assert not went_down
            assert set(previous) <= set(current)  # no series vanished
            previous = current
        stop.set()
        loader.join(60)
        assert not errors, errors[:3]
        # Every request made counts, whichever worker served it (bounded wait: a response
        # reaches the client just before its worker counts it).
        deadline = time.monotonic() + 30
        while True:
            text = httpx.get(f"{url}/metrics", headers=headers, timeout=10).text
            healthz = sum(v for (n, labels), v in _counters(text).items() if n == "cmdb_http_requests_total"
                          and ("path", "/healthz") in labels and ("status", "200") in labels)
            if healthz - start_healthz == made["healthz"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert healthz - start_healthz == made["healthz"] >= 40
    finally:
        stop.set()
        if loader.is_alive():
            loader.join(60)
        proc.terminate()
        proc.wait(60)
