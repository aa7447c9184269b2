"""``cmdb discover snmp`` end to end against the lab: targets and credentials files, JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cmdb.store.sqlite import SQLiteStore
from cmdb_cli.main import app
from tests.integration.snmp.agents import COMMUNITY_ENV, community
from tests.integration.snmp.conftest import Lab


def test_cli_discovers_the_lab_and_reports_failures(lab: Lab, tmp_path: Path) -> None:
    community()  # sets the community's environment variable
    dead = "127.0.0.99"
    (tmp_path / "targets.yaml").write_text(
        f"scope: lab\nport: {lab.port}\n"
        "targets:\n"
        f"  - seeds: [{', '.join(lab.addresses.values())}, {dead}]\n"
        "    credentials: [lab]\n",
        encoding="utf-8",
    )
    (tmp_path / "credentials.yaml").write_text(
        f"lab: {{version: 2c, community_env: {COMMUNITY_ENV}}}\n", encoding="utf-8")
    db = tmp_path / "cli.sqlite"
    result = CliRunner().invoke(app, [
        "discover", "snmp", "--targets", str(tmp_path / "targets.yaml"), "--credentials",
        str(tmp_path / "credentials.yaml"), "--store", f"sqlite:///{db}", "--timeout", "2", "--json",
    ])
    assert result.exit_code == 1, result.output  # one failed device -> exit 1, the rest is applied
    summary = json.loads(result.stdout)  # the target_failed warning goes to stderr
    assert (summary["status"], summary["devices"], summary["failed"], summary["neighbors"], summary["links"]) == (
        "incomplete", 7, 1, 8, 8)
    assert {d["address"]: d["status"] for d in summary["devices_detail"]}[f"{dead}:{lab.port}"] == "failed"
    # One run per device part, the links, the scope: the dead seed (never answered) holds back the links and
    # the scope's own run, not the devices' parts.
    parts = {f"lab/{k}.lab.example" for k in ("core1", "dist1", "dist2", "acc1", "acc2", "rtr1", "fw1")}
    assert {r["scope"]: r["status"] for r in summary["runs"]} == {
        **{p: "complete" for p in parts}, "lab:links": "incomplete", "lab": "incomplete"}
    rows = {d["address"]: (d["part"], d["part_status"]) for d in summary["devices_detail"]}
    assert rows[f"{lab.addresses['dist1']}:{lab.port}"] == ("lab/dist1.lab.example", "complete")
    assert rows[f"{dead}:{lab.port}"] == (None, None)
    assert "public" not in result.output  # the community never shows
    store = SQLiteStore(db)
    try:
        cis = [c for batch in store.iter_cis() for c in batch]
        names = {c.attributes.get("fqdn") for c in cis if c.ci_class in ("switch", "router", "firewall", "network_device")}
        relationships = sum(len(batch) for batch in store.iter_relationships())
    finally:
        store.close()
    # The ingest counts are every run's, summed: a fresh store holds just what they created.
    assert (summary["ingest"]["created"], summary["ingest"]["relationships_created"]) == (len(cis), relationships)
    assert names == {f"{k}.lab.example" for k in ("core1", "dist1", "dist2", "acc1", "acc2", "rtr1", "fw1", "ap1")}


def test_cli_refuses_literal_secrets(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text("targets: [127.0.0.1]\n", encoding="utf-8")
    (tmp_path / "credentials.yaml").write_text("lab: {version: 2c, community: public}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["discover", "snmp", "--targets", str(tmp_path / "targets.yaml"),
                                      "--credentials", str(tmp_path / "credentials.yaml")])
    assert result.exit_code == 2
    assert "literal 'community' is not accepted" in result.output
