"""``cmdb change create|plan|approve|show|drift|export|list`` on a real SQLite store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmdb_cli.main import app
from tests.builders import obs, rel
from tests.unit.changes.change_scenario import BILLING, WEB_APP, Scenario


@pytest.fixture
def cli(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CMDB_STORE_URL", f"sqlite:///{scenario.h.store.path}")
    monkeypatch.setenv("CMDB_DATA_DIR", str(tmp_path))
    return CliRunner()


def test_create_plan_approve_drift_export(cli: CliRunner, scenario: Scenario, tmp_path: Path) -> None:
    created = cli.invoke(app, ["change", "create", "--title", "patch web1", "--ci", "i-web1", "--action", "restart",
                               "--start", "2030-01-02T00:00", "--end", "2030-01-02T02:00", "--requester", "alice",
                               "--json"])
    assert created.exit_code == 0, created.output
    uid = json.loads(created.output)["uid"]
    planned = cli.invoke(app, ["change", "plan", uid])
    assert planned.exit_code == 0, planned.output
    assert "# Change plan: patch web1" in planned.output and "| checkout | business_service | degraded |" in planned.output
    assert cli.invoke(app, ["change", "approve", uid, "--by", "cab"]).exit_code == 0
    clean = cli.invoke(app, ["change", "drift", uid])
    assert clean.exit_code == 0 and "No drift" in clean.output

    # The CLI loads its topology index from the store: ingest a new dependency, then ask again.
    s = {"source": "sample", "scope": "base"}
    scenario.h.run([obs("business_service", {"service_id": "svc-billing"}, {"name": "billing"}, **s),
                    rel("DEPENDS_ON", BILLING, WEB_APP, **s)], complete=False, **s)
    drifted = cli.invoke(app, ["change", "drift", uid, "--json"])
    assert drifted.exit_code == 3, drifted.output
    report = json.loads(drifted.output)
    assert report["drifted"] is True
    assert [(e["source_name"], e["target_name"]) for e in report["relationships_added"]] == [("billing", "web-app")]

    shown = cli.invoke(app, ["change", "show", uid, "--json"])
    assert json.loads(shown.output)["change"]["state"] == "approved"
    out = tmp_path / "plan.csv"
    assert cli.invoke(app, ["change", "export", uid, "--format", "csv", "-o", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("section,uid,name,class,grade,depth,owner,detail\n")
    listed = cli.invoke(app, ["change", "list", "--state", "approved", "--json"])
    assert [c["uid"] for c in json.loads(listed.output)] == [uid]


def test_typed_errors_exit_non_zero(cli: CliRunner) -> None:
    result = cli.invoke(app, ["change", "approve", "nope", "--by", "cab"])
    assert result.exit_code == 1 and "change 'nope' not found" in result.output
