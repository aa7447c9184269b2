"""``/healthz`` reports the liveness of a scheduler running in the API's process (issue 25 item 4).

The scheduler is the real background scheduler on its own thread and loop; its
loop is frozen for real (a callback that blocks it), then the scheduler stopped.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from discovery.jobs import parse_jobs
from discovery.scheduler import start_scheduler_in_background
from graph_api.app import create_app
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.api.conftest import served_in_thread


def _until(url: str, status_code: int, scheduler: str) -> dict[str, Any]:
    """Poll /healthz (bounded) until it answers ``status_code`` with the scheduler's ``scheduler`` status."""
    deadline = time.monotonic() + 30
    while True:
        reply = httpx.get(f"{url}/healthz", timeout=5)
        body: dict[str, Any] = reply.json()
        if reply.status_code == status_code and body.get("scheduler", {}).get("status") == scheduler:
            return body
        assert time.monotonic() < deadline, (reply.status_code, body)
        time.sleep(0.1)


def test_healthz_follows_the_in_process_scheduler(tmp_path: Path) -> None:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)
    tokens = SQLiteTokenStore(tmp_path / "tokens.sqlite")
    jobs = parse_jobs("jobs:\n  - {name: bg, scanner: sample, schedule: {interval: 3600}, options: {apps: 1}}\n")
    background = start_scheduler_in_background(jobs, Ingestor(store, catalog))
    background.stale_after = 1.0
    release = threading.Event()
    try:
        app = create_app(store, catalog, tokens, settings=ApiSettings(store_threads=0),
                         scheduler_health=background.health)
        with served_in_thread(app) as url:
            healthy = _until(url, 200, "ok")
            assert healthy["status"] == "ok" and healthy["scheduler"]["seconds_since_heartbeat"] <= 1.0

            loop = background.scheduler._loop if background.scheduler is not None else None
            assert loop is not None
            loop.call_soon_threadsafe(release.wait, 60)  # the scheduler's loop stops beating
            frozen = _until(url, 503, "unresponsive")
            assert frozen["status"] == "unhealthy" and frozen["scheduler"]["seconds_since_heartbeat"] > 1.0

            release.set()
            _until(url, 200, "ok")  # it beats again

            background.stop(timeout=30)
            assert not background.thread.is_alive()
            stopped = _until(url, 503, "stopped")
            assert stopped["status"] == "unhealthy"
    finally:
        release.set()
        background.stop(timeout=30)
        store.close()
        tokens.close()


def test_healthz_without_an_in_process_scheduler_says_nothing_of_one(tmp_path: Path) -> None:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)
    tokens = SQLiteTokenStore(tmp_path / "tokens.sqlite")
    try:
        with served_in_thread(create_app(store, catalog, tokens, settings=ApiSettings(store_threads=0))) as url:
            reply = httpx.get(f"{url}/healthz", timeout=5)
            assert reply.status_code == 200
            assert set(reply.json()) == {"status", "impact", "worker", "log_position"}
            assert reply.json()["status"] == "ok"
    finally:
        store.close()
        tokens.close()
