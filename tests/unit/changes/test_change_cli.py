"""``cmdb change ...`` on a real SQLite store file: identity from the OS user, ISO 8601 times, exports."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cmdb_cli.main import app
from tests.builders import obs, rel
from tests.unit.changes.change_scenario import BILLING, WEB_APP, Scenario

CREATE = ["change", "create", "--title", "patch web1", "--ci", "i-web1", "--action", "restart",
          "--start", "2030-01-02T01:00+01:00", "--end", "2030-01-02T02:00Z",
          "--implementation-plan", "restart i-web1", "--backout-plan", "re-image from the golden AMI",
          "--description", "kernel patch for CVE-2030-0001", "--json"]


@pytest.fixture
def cli(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CMDB_STORE_URL", f"sqlite:///{scenario.h.sqlite.path}")
    monkeypatch.setenv("CMDB_DATA_DIR", str(tmp_path))
    return CliRunner()


def _flat(output: str) -> str:
    """Typer's error box without its frame and line breaks."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def _as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    """Run the next commands as OS user ``user`` (getpass.getuser reads LOGNAME first)."""
    monkeypatch.setenv("LOGNAME", user)


def test_create_plan_approve_drift_export(cli: CliRunner, scenario: Scenario, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "alice")
    created = cli.invoke(app, CREATE)
    assert created.exit_code == 0, created.output
    change = json.loads(created.output)
    uid = change["uid"]
    # The requester is the OS user; 01:00+01:00 is midnight UTC.
    assert (change["requester"], change["window"]) == ("alice", {"start": 1893542400000, "end": 1893549600000})
    planned = cli.invoke(app, ["change", "plan", uid])
    assert planned.exit_code == 0, planned.output
    assert "# Change plan: patch web1" in planned.output and "| checkout | business_service | degraded |" in planned.output
    own = cli.invoke(app, ["change", "approve", uid])
    assert own.exit_code == 1 and "separation of duties" in own.output
    _as(monkeypatch, "carol")
    assert cli.invoke(app, ["change", "approve", uid, "--plan-version", "1"]).exit_code == 0
    clean = cli.invoke(app, ["change", "drift", uid])
    assert clean.exit_code == 0 and "No drift" in clean.output

    # The CLI loads its topology index from the store: ingest a new dependency, then ask again.
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    scenario.h.run([obs("business_service", {"service_id": "svc-billing"}, {"name": "billing"}, **s),
                    rel("DEPENDS_ON", BILLING, WEB_APP, **s)], complete=False, **s)
    drifted = cli.invoke(app, ["change", "drift", uid, "--json"])
    assert drifted.exit_code == 3, drifted.output
    report = json.loads(drifted.output)
    assert report["drifted"] is True
    assert [(e["source_name"], e["target_name"]) for e in report["relationships_added"]] == [("billing", "web-app")]
    assert report["reapproval"] == "newly impacted services: billing"
    text = cli.invoke(app, ["change", "drift", uid]).output
    assert "**Needs re-approval before it can start:** newly impacted services: billing" in text

    shown = cli.invoke(app, ["change", "show", uid, "--json"])
    assert json.loads(shown.output)["change"]["state"] == "approved"
    out = tmp_path / "change.csv"
    assert cli.invoke(app, ["change", "export", uid, "--format", "csv", "-o", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == {"section": "change", "uid": uid, "name": "patch web1", "class": "normal", "grade": "approved",
                       "depth": "", "owner": "alice", "detail": "kernel patch for CVE-2030-0001", "plan": ""}
    assert [(r["uid"], r["plan"]) for r in rows if r["section"] == "approval"] == [("carol", "")]
    assert {(r["uid"], r["detail"], r["plan"]) for r in rows if r["section"] == "flag" and r["uid"] == "truncated"} \
        == {("truncated", "false", "approved"), ("truncated", "false", "current")}
    listed = cli.invoke(app, ["change", "list", "--state", "approved", "--json"])
    assert [c["uid"] for c in json.loads(listed.output)] == [uid]


@pytest.mark.parametrize("start", ["20270208", "1893456000000", "2030-01-02T00:00", "2030-01-02", "tomorrow"])
def test_times_without_an_offset_are_refused_with_a_clear_message(cli: CliRunner, start: str) -> None:
    args = [*CREATE]
    args[args.index("--start") + 1] = start
    result = cli.invoke(app, args)
    assert result.exit_code == 2
    assert f"'{start}' is not an ISO 8601 date and time with an offset (e.g. 2027-02-08T22:00+01:00" in _flat(
        result.output)
    assert cli.invoke(app, ["change", "list", "--json"]).output.strip() == "[]"  # nothing recorded


def test_only_cli_admins_may_act_as_someone_else(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "mallory")
    refused = cli.invoke(app, [*CREATE, "--as", "alice"])
    assert refused.exit_code == 2 and "only cli_admins may act as someone else; you are 'mallory'" in _flat(
        refused.output)
    _as(monkeypatch, "root")  # cli_admins in the packaged change models
    created = cli.invoke(app, [*CREATE, "--as", "alice"])
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["requester"] == "alice"


def test_typed_errors_exit_non_zero(cli: CliRunner) -> None:
    result = cli.invoke(app, ["change", "approve", "nope"])
    assert result.exit_code == 1 and "change 'nope' not found" in result.output
