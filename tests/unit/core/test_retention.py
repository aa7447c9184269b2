"""Run-record and history retention (issue 25 item 7): keep N days, always the last state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmdb.retention import RetentionUnsupported, prune
from cmdb_cli.main import app
from tests.builders import DAY, T0, Harness, obs


def _scan(harness: Harness, kernel: str, scope: str = "s1") -> str:
    run, _ = harness.run([obs("host", {"fqdn": "h1.example"}, {"kernel": kernel}, source="ssh", scope=scope,
                              at=harness.clock.now),
                          obs("host", {"fqdn": "h2.example"}, {"kernel": "6.1"}, source="ssh", scope=scope,
                              at=harness.clock.now)], source="ssh", scope=scope)
    return run.run_id


def test_old_runs_and_history_go_but_every_last_state_stays(harness: Harness) -> None:
    harness.clock.now = T0
    first = _scan(harness, "6.1")  # creates h1 and h2
    other = _scan(harness, "6.1", scope="s2")  # another scope's only run
    harness.clock.now = T0 + 9 * DAY
    _scan(harness, "6.2")  # h1 updated
    harness.clock.now = T0 + 40 * DAY
    third = _scan(harness, "6.3")  # h1 updated again
    h1 = harness.find("host", fqdn="h1.example").uid
    h2 = harness.find("host", fqdn="h2.example").uid

    report = prune(harness.store, harness.clock.now, runs_days=30, history_days=30)
    runs = {r.run_id for r in harness.store.list_runs(limit=100)}
    assert runs == {third, other}  # s1's runs past 30 days go; s2 keeps its newest though it is old
    history = {(h.subject_uid, h.run_id) for h in harness.all_history() if h.subject_kind == "ci"}
    # h1: its 40-day-old entry stays (new enough); h2: its creation, 40 days old, is its last state.
    assert history == {(h1, third), (h2, first)}
    assert (report.runs, report.history) == (2, 2)  # s1's first two runs; h1's creation and first update


def test_a_store_without_retention_is_refused() -> None:
    with pytest.raises(RetentionUnsupported, match="object does not support run and history retention"):
        prune(object(), T0, 1, 1)


def test_cli_purge_retention(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "cmdb.sqlite")
    try:
        harness.clock.now = T0
        _scan(harness, "6.1")
        harness.clock.now = T0 + 1000
        _scan(harness, "6.1")
    finally:
        harness.store.close()
    result = CliRunner().invoke(app, ["purge", "--runs-older-than", "1", "--history-older-than", "1",
                                      "--store", f"sqlite:///{tmp_path / 'cmdb.sqlite'}", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"cis": [], "relationships": 0, "runs": 1, "history": 0, "dry_run": False}
    refused = CliRunner().invoke(app, ["purge", "--store", f"sqlite:///{tmp_path / 'cmdb.sqlite'}"])
    assert refused.exit_code == 2
