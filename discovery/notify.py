"""Webhook notifications for an operator: a job failing again and again, a run retiring en masse.

An ``OutcomeHook`` of the scheduler. It keeps each job's failure streak and,
when the streak reaches ``after_failures`` (once per streak), or when one run
retires more than ``retired_fraction`` of what its scope held, posts a JSON
event to the configured URL, signed with HMAC-SHA256 over the exact body
(``X-CMDB-Signature: sha256=<hex>``). Delivery runs on its own thread with
bounded retries, so a slow receiver never delays a scan; the shared secret is a
credential reference, read at each delivery and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from discovery.job_runner import JobOutcome
from discovery.jobs import WebhookSpec

log = logging.getLogger(__name__)

FAILING = {"failed", "incomplete"}  # a skipped execution (still running) is not a failure
SIGNATURE_HEADER = "X-CMDB-Signature"
EVENT_HEADER = "X-CMDB-Event"


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body`` (receivers compute the same and compare)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retired_fraction(outcome: JobOutcome) -> float:
    """The largest share of a scope's CIs one run of ``outcome`` retired (what it saw plus what it retired)."""
    worst = 0.0
    for run in outcome.runs:
        counts = run.counts
        retired = counts.get("retired", 0)
        held = retired + counts.get("created", 0) + counts.get("updated", 0) + counts.get("unchanged", 0)
        if retired and held:
            worst = max(worst, retired / held)
    return worst


class WebhookNotifier:
    """Turns job outcomes into webhook events (call ``close`` to flush and stop the sender)."""

    def __init__(self, spec: WebhookSpec, secret: Callable[[], str],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.spec = spec
        self._secret = secret
        self._clock = clock
        self._streaks: dict[str, int] = {}
        self._reasons: dict[str, list[str]] = {}
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=1000)
        self._sender = threading.Thread(target=self._send_loop, name="cmdb-webhook", daemon=True)
        self._sender.start()
        self.delivered = 0
        self.dropped = 0

    # -- deciding ------------------------------------------------------------------------
    def __call__(self, outcome: JobOutcome) -> None:
        job = outcome.job
        if outcome.status in FAILING:
            streak = self._streaks[job] = self._streaks.get(job, 0) + 1
            self._reasons.setdefault(job, []).append(outcome.reason or outcome.status)
            if streak == self.spec.after_failures:
                self._emit("job_failing", {"job": job, "consecutive_failures": streak,
                                           "reasons": self._reasons[job][-streak:],
                                           "last_status": outcome.status})
        elif outcome.status == "complete":
            self._streaks.pop(job, None)
            self._reasons.pop(job, None)
        fraction = retired_fraction(outcome)
        if fraction > self.spec.retired_fraction:
            self._emit("mass_retirement", {
                "job": job, "retired_fraction": round(fraction, 4), "threshold": self.spec.retired_fraction,
                "runs": [{"run_id": r.run_id, "scope": r.scope, "retired": r.counts.get("retired", 0)}
                         for r in outcome.runs if r.counts.get("retired", 0)]})

    def _emit(self, event: str, fields: dict[str, Any]) -> None:
        body = json.dumps({"event": event, "at": self._clock().isoformat(), **fields}, sort_keys=True).encode()
        try:
            self._queue.put_nowait((event, body))
        except queue.Full:
            self.dropped += 1
            log.warning("webhook queue full: %s event dropped", event)

    # -- delivering ----------------------------------------------------------------------
    def _send_loop(self) -> None:
        with httpx.Client(timeout=self.spec.timeout, follow_redirects=False) as client:
            while True:
                item = self._queue.get()
                try:
                    if item is None:
                        return
                    self._deliver(client, *item)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, event: str, body: bytes) -> None:
        delay = self.spec.retry_delay
        for attempt in range(1, self.spec.attempts + 1):
            try:
                headers = {"Content-Type": "application/json", EVENT_HEADER: event,
                           SIGNATURE_HEADER: signature(self._secret(), body)}
                response = client.post(self.spec.url, content=body, headers=headers)
                if response.is_success:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
            except (httpx.HTTPError, ValueError) as exc:  # ValueError: the secret's reference did not resolve
                problem = type(exc).__name__
            if attempt < self.spec.attempts:
                time.sleep(delay)
                delay *= 2
        self.dropped += 1
        log.warning("webhook %s not delivered after %d attempts (%s)", event, self.spec.attempts, problem)

    def close(self, timeout: float = 30) -> None:
        """Deliver what is queued (within ``timeout``), then stop the sender."""
        self._queue.put(None)
        self._sender.join(timeout)
