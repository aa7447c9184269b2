"""The scan runner: one run per scope; a scope that fails, or whose store drops, ages nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import structlog
import structlog.testing

from cmdb.model import ChangeSet, Lifecycle, RunStatus
from discovery.base import ProgressHook, ScopeResult
from discovery.runner import run_scan
from tests.builders import Harness, obs


class ListScanner:
    """Yields prepared scope results: the scanner side is not what these tests exercise."""

    source = "aws"

    def __init__(self, results: list[ScopeResult]) -> None:
        self.results = results

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        for result in self.results:
            yield result


class DroppingStore:
    """Wraps the real store and fails the Nth ``apply``.

    A fake, on purpose: a database connection dropping in the middle of a batch
    cannot be produced on demand with SQLite, and this is the fault under test.
    """

    def __init__(self, inner: Any, fail_on: int) -> None:
        self.inner = inner
        self.fail_on = fail_on
        self.calls = 0

    def apply(self, changes: ChangeSet) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError("store connection lost")
        self.inner.apply(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def hosts(prefix: str, n: int, scope: str) -> list[Any]:
    return [obs("host", {"instance_id": f"{prefix}-{i}"}, scope=scope) for i in range(n)]


def test_a_failed_scope_is_incomplete_and_ages_nothing_while_the_other_completes(harness: Harness) -> None:
    first = [ScopeResult("eu", hosts("eu", 3, "eu"), True), ScopeResult("us", hosts("us", 3, "us"), True)]
    asyncio.run(run_scan(ListScanner(first), harness.ingestor))
    second = [ScopeResult("eu", hosts("eu", 1, "eu"), False, errors=["ec2: endpoint unreachable"]),
              ScopeResult("us", hosts("us", 1, "us"), True)]
    for _ in range(4):
        runs = asyncio.run(run_scan(ListScanner(second), harness.ingestor, job="nightly"))
    assert [(r.scope, r.status, r.job) for r in runs] == [("eu", RunStatus.INCOMPLETE, "nightly"),
                                                          ("us", RunStatus.COMPLETE, "nightly")]
    assert runs[0].errors == ["ec2: endpoint unreachable"]
    status = {c.attributes["instance_id"]: c.status for c in harness.all_cis()}
    assert status == {"eu-0": Lifecycle.ACTIVE, "eu-1": Lifecycle.ACTIVE, "eu-2": Lifecycle.ACTIVE,
                      "us-0": Lifecycle.ACTIVE, "us-1": Lifecycle.RETIRED, "us-2": Lifecycle.RETIRED}


def test_a_store_that_drops_mid_scope_leaves_the_run_incomplete_and_ages_nothing(harness: Harness) -> None:
    harness.ingestor.batch_size = 2
    asyncio.run(run_scan(ListScanner([ScopeResult("eu", hosts("eu", 6, "eu"), True)]), harness.ingestor))
    dropping = DroppingStore(harness.store, fail_on=2)
    harness.ingestor.store = dropping
    runs = asyncio.run(run_scan(ListScanner([ScopeResult("eu", hosts("eu", 6, "eu")[:4], True)]), harness.ingestor))
    harness.ingestor.store = harness.store
    assert runs[0].status is RunStatus.INCOMPLETE
    assert runs[0].errors == ["ingest failed: store connection lost"]
    assert harness.store.get_run(runs[0].run_id).status is RunStatus.INCOMPLETE  # type: ignore[union-attr]
    assert {c.status for c in harness.all_cis()} == {Lifecycle.ACTIVE}
    # Re-running completes the scope; nothing was duplicated.
    asyncio.run(run_scan(ListScanner([ScopeResult("eu", hosts("eu", 6, "eu"), True)]), harness.ingestor))
    assert sorted(c.attributes["instance_id"] for c in harness.all_cis()) == [f"eu-{i}" for i in range(6)]


def test_target_warnings_are_logged_and_kept_with_a_run_that_still_completes_and_ages(harness: Harness) -> None:
    asyncio.run(run_scan(ListScanner([ScopeResult("eu", hosts("eu", 2, "eu"), True)]), harness.ingestor))
    warned = ScopeResult("eu", hosts("eu", 1, "eu"), True,
                         warnings=["10.0.0.1:161: dot1qTpFdbTable: 3 rows on bridge port 7: no ifIndex; dropped"])
    with structlog.testing.capture_logs() as logs:
        for _ in range(4):
            runs = asyncio.run(run_scan(ListScanner([warned]), harness.ingestor, job="nightly"))
    assert (runs[0].status, runs[0].errors) == (RunStatus.COMPLETE, warned.warnings)
    assert {(e["event"], e["log_level"], e["target"], e["reason"]) for e in logs
            if e["event"] in ("target_warning", "target_failed")} == {
        ("target_warning", "warning", "10.0.0.1:161", "dot1qTpFdbTable: 3 rows on bridge port 7: no ifIndex; dropped")}
    # a warning is no failure: the complete runs aged what they no longer saw
    assert {c.attributes["instance_id"]: c.status for c in harness.all_cis()} == {
        "eu-0": Lifecycle.ACTIVE, "eu-1": Lifecycle.RETIRED}
