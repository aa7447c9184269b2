"""The tail every ``cmdb discover`` command of a scope-based scanner shares: scan into the
store (one run per scope), summarise the runs, print the summary, exit 1 unless complete."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cmdb.model import RunStatus, ScanRun
from cmdb_cli.context import console, open_ingestor, open_store, print_json

if TYPE_CHECKING:
    from discovery.base import ProgressHook, Scanner

# Shows progress while the scan runs: a context manager giving the hook the runner calls.
ProgressDisplay = Callable[[], AbstractContextManager["ProgressHook"]]


def summarize(runs: list[ScanRun], seconds: float) -> dict[str, Any]:
    """Per-scope outcome and totals of one discovery."""
    scopes: list[dict[str, Any]] = []
    for run in sorted(runs, key=lambda r: r.scope):
        c = run.counts
        scopes.append({
            "scope": run.scope, "status": run.status.value, "created": c.get("created", 0),
            "updated": c.get("updated", 0), "unchanged": c.get("unchanged", 0),
            "relationships_created": c.get("relationships_created", 0), "stale": c.get("stale", 0),
            "retired": c.get("retired", 0), "rejected": c.get("rejected", 0), "api_calls": c.get("scan_api_calls", 0),
            "seconds": round((run.duration_ms or 0) / 1000, 2), "errors": run.errors,
        })
    totals = {k: sum(s[k] for s in scopes) for k in ("created", "updated", "unchanged", "relationships_created",
                                                     "stale", "retired", "rejected", "api_calls")}
    return {"scopes": scopes, "totals": totals, "seconds": round(seconds, 2),
            "incomplete": sum(1 for r in runs if r.status is not RunStatus.COMPLETE)}


def discover_and_report(scanner: Scanner, store_url: str | None, job: str | None, as_json: bool,
                        display: ProgressDisplay, table: Callable[[dict[str, Any]], Table]) -> None:
    """Scan ``scanner`` into the store, print the summary (``table`` or JSON); exit 1 unless every run is complete."""
    from discovery.runner import run_scan

    store = open_store(store_url)
    started = time.perf_counter()
    try:
        ingestor = open_ingestor(store)
        with display() as tick:
            runs = asyncio.run(run_scan(scanner, ingestor, job=job, progress=tick))
    finally:
        store.close()
    summary = summarize(runs, time.perf_counter() - started)
    if as_json:
        print_json(summary)
    else:
        console.print(table(summary))
    if summary["incomplete"]:
        raise typer.Exit(1)
