"""Webhook notifications, delivered over real HTTP to a receiver on 127.0.0.1.

The failing scanner is a small fake registered for the test (a scan that raises
is the fault under test); the scheduler, the job runner, ingest and the HTTP
delivery are real.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from cmdb.ingest import Ingestor
from cmdb.model import ScanRun
from cmdb.store.sqlite import SQLiteStore
from discovery.base import ProgressHook, ScopeResult
from discovery.job_runner import JobOutcome
from discovery.jobs import JobsFileError, WebhookSpec, parse_jobs
from discovery.notify import WebhookNotifier
from discovery.scanner_registry import REGISTRY, ScannerEntry
from discovery.scheduler import DiscoveryScheduler
from schema import load_schema

SECRET = "not-a-real-secret-0123"


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST; answers with ``codes`` in turn, then 200."""

    def __init__(self, codes: list[int] | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.codes = list(codes or [])
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.got:
                    code = receiver.codes.pop(0) if receiver.codes else 200
                    receiver.requests.append((dict(self.headers), body))
                    receiver.got.notify_all()
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self.got:
            assert self.got.wait_for(lambda: len(self.requests) >= count, timeout), self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class BrokenOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrokenScanner:
    source = "sample"

    def __init__(self, options: BrokenOptions) -> None:
        self.options = options

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        raise ConnectionRefusedError("the target refused the connection")
        yield  # an async generator that fails before its first scope


@pytest.fixture(autouse=True)
def broken_scanner(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = ScannerEntry("broken", "sample", __name__, BrokenOptions, frozenset(),
                         lambda job, options, secrets: BrokenScanner(options),  # type: ignore[arg-type]
                         "test scanner that always fails")
    monkeypatch.setitem(REGISTRY, "broken", entry)


def _verified(headers: dict[str, str], body: bytes) -> dict[str, object]:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-CMDB-Signature"], expected)
    return json.loads(body)  # type: ignore[no-any-return]


def test_a_job_failing_three_times_in_a_row_is_notified_once(receiver: Receiver, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMDB_TEST_WEBHOOK_SECRET", SECRET)
    jobs = parse_jobs(
        "notifications:\n"
        f"  webhook: {{url: '{receiver.url}', secret: 'env:CMDB_TEST_WEBHOOK_SECRET', after_failures: 3}}\n"
        "jobs:\n  - {name: flaky, scanner: broken, schedule: {interval: 0.2}}\n", "jobs.yaml")
    webhook = jobs.notifications.webhook
    assert webhook is not None
    notifier = WebhookNotifier(webhook, lambda: webhook.secret.resolve())
    store = SQLiteStore(tmp_path / "cmdb.sqlite", load_schema())
    scheduler = DiscoveryScheduler(jobs, Ingestor(store, load_schema()), on_outcome=notifier)

    async def five_failures() -> None:
        task = asyncio.create_task(scheduler.serve(install_signal_handlers=False))
        deadline = asyncio.get_running_loop().time() + 60
        # A due run that finds the last one still running is skipped (not a failure): count executions.
        while len([o for o in scheduler.outcomes if o.status != "skipped"]) < 5:
            assert asyncio.get_running_loop().time() < deadline, scheduler.outcomes
            await asyncio.sleep(0.05)
        scheduler.request_stop()
        await asyncio.wait_for(task, 20)

    try:
        asyncio.run(five_failures())
        notifier.close()
    finally:
        store.close()
    assert {o.status for o in scheduler.outcomes if o.status != "skipped"} == {"failed"}
    assert len(receiver.requests) == 1  # the fourth and fifth failures of the same streak send nothing more
    headers, body = receiver.requests[0]
    event = _verified(headers, body)
    assert headers["X-CMDB-Event"] == "job_failing"
    assert (event["event"], event["job"], event["consecutive_failures"]) == ("job_failing", "flaky", 3)
    assert len(event["reasons"]) == 3  # type: ignore[arg-type]
    assert all("refused" in str(r) for r in event["reasons"])  # type: ignore[attr-defined]
    assert SECRET not in body.decode()


def _outcome(job: str, status: str, **counts: int) -> JobOutcome:
    run = ScanRun(run_id=f"r-{job}-{status}", source="sample", scope="s1", started_at=0, job=job)
    run.counts.update(counts)
    return JobOutcome(job, status, [run], None if status == "complete" else "boom")


def test_delivery_is_retried_until_the_receiver_takes_it() -> None:
    receiver = Receiver(codes=[503, 500])
    try:
        notifier = WebhookNotifier(WebhookSpec(url=receiver.url, secret="env:UNUSED", after_failures=2,
                                               retry_delay=0.01), lambda: SECRET)
        for status in ("failed", "incomplete"):
            notifier(_outcome("db-scan", status))
        notifier.close()
        assert len(receiver.requests) == 3
        assert [json.loads(b)["consecutive_failures"] for _, b in receiver.requests] == [2, 2, 2]
        assert (notifier.delivered, notifier.dropped) == (1, 0)
    finally:
        receiver.close()


def test_a_success_resets_the_streak_and_a_skip_does_not_count(receiver: Receiver) -> None:
    notifier = WebhookNotifier(WebhookSpec(url=receiver.url, secret="env:UNUSED", after_failures=2), lambda: SECRET)
    for status in ("failed", "complete", "failed", "skipped", "complete", "failed"):
        notifier(_outcome("aws", status))
    notifier.close()
    assert receiver.requests == []


def test_a_run_retiring_more_than_its_threshold_is_notified(receiver: Receiver) -> None:
    notifier = WebhookNotifier(WebhookSpec(url=receiver.url, secret="env:UNUSED", retired_fraction=0.3),
                               lambda: SECRET)
    notifier(_outcome("net", "complete", unchanged=7, retired=3))  # 30 %: at the threshold, not over it
    notifier(_outcome("net", "complete", unchanged=6, retired=4))  # 40 %
    notifier.close()
    assert len(receiver.requests) == 1
    event = _verified(*receiver.requests[0])
    assert (event["event"], event["job"], event["retired_fraction"]) == ("mass_retirement", "net", 0.4)


def test_the_jobs_file_refuses_a_webhook_it_cannot_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMDB_NO_SUCH_SECRET", raising=False)
    with pytest.raises(JobsFileError) as caught:
        parse_jobs("notifications:\n  webhook:\n    url: ftp://example.invalid/x\n    secret: env:CMDB_NO_SUCH_SECRET\n"
                   "jobs: []\n", "jobs.yaml")
    text = caught.value.render()
    assert "must be http:// or https://" in text
    with pytest.raises(JobsFileError) as caught:
        parse_jobs("notifications:\n  webhook:\n    url: http://127.0.0.1:9/x\n    secret: env:CMDB_NO_SUCH_SECRET\n"
                   "jobs: []\n", "jobs.yaml")
    assert caught.value.render() == ("jobs.yaml:4: notifications.webhook.secret: credential env:CMDB_NO_SUCH_SECRET: "
                                     "environment variable CMDB_NO_SUCH_SECRET is not set")
