"""The end-of-run summary of ``cmdb discover aws``: per-scope rows and totals."""

from __future__ import annotations

from rich.console import Console

from cmdb.model import RunStatus, ScanRun
from cmdb_cli.aws import summarize, summary_table


def _run(scope: str, status: RunStatus, errors: list[str], scanned_ms: int = 0, **counts: int) -> ScanRun:
    # The scan began ``scanned_ms`` before the run ended: the run's one duration covers scan and ingest.
    return ScanRun(run_id=scope, source="aws", scope=scope, started_at=10_000, status=status, counts=counts,
                   errors=errors, scan_started_at=10_000 - scanned_ms + 200, scan_finished_at=9_900,
                   finished_at=10_200)


def test_summary_counts_incomplete_scopes_and_totals() -> None:
    runs = [
        _run("1/eu-west-1", RunStatus.COMPLETE, [], created=5, relationships_created=7, scan_api_calls=30,
             scanned_ms=1500),
        _run("1/global", RunStatus.INCOMPLETE, ["route53.list_hosted_zones: AccessDenied: no"], created=1,
             scan_api_calls=4),
    ]
    summary = summarize(runs, 2.0)
    assert summary["incomplete"] == 1
    assert summary["totals"] == {"created": 6, "updated": 0, "unchanged": 0, "relationships_created": 7, "stale": 0,
                                 "retired": 0, "rejected": 0, "api_calls": 34}
    assert [(s["scope"], s["status"], s["seconds"]) for s in summary["scopes"]] == [
        ("1/eu-west-1", "complete", 1.5), ("1/global", "incomplete", 0.0)]
    console = Console(width=220, record=True, color_system=None)
    console.print(summary_table(summary))
    text = console.export_text()
    assert "AWS discovery: 2 scopes, 1 incomplete, 2.0 s" in text
    assert "route53.list_hosted_zones: AccessDenied: no" in text
    total = next(line for line in text.splitlines() if "total" in line)
    assert [c.strip() for c in total.split("│")][3:11] == ["6", "0", "0", "7", "0", "0", "0", "34"]
