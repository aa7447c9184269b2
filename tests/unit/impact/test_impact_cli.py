"""``cmdb impact|deps|path|spof`` against a real SQLite store file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmdb_cli.main import app
from tests.builders import Harness, rel
from tests.unit.impact.test_sqlite_ingest import APP, POOL, base, pool


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    h = Harness(tmp_path / "cmdb.sqlite")
    h.run(base(), source="sample", scope="base")
    h.run(pool((1, 2, 3), h.clock.now), source="aws", scope="pool")
    h.run([rel("RUNS_ON", APP, POOL, source="sample", scope="base")], source="sample", scope="base", complete=False)
    monkeypatch.setenv("CMDB_STORE_URL", f"sqlite:///{h.sqlite.path}")
    monkeypatch.setenv("CMDB_DATA_DIR", str(tmp_path))
    return h


def test_impact_json_and_table(estate: Harness) -> None:
    web1 = estate.find("cloud_instance", instance_id="i-web1").uid
    web2 = estate.find("cloud_instance", instance_id="i-web2").uid
    runner = CliRunner()
    out = runner.invoke(app, ["impact", web1, web2, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert {(c["name"], c["grade"], c["depth"]) for c in report["impacted"]} == {
        ("i-web1", "down", 0), ("i-web2", "down", 0), ("web-pool", "down", 1), ("web-app", "down", 2),
        ("shop", "down", 3),
    }
    assert report["owners"] == ["team-shop", "team-web"] and report["truncated"] is False
    table = runner.invoke(app, ["impact", web1])
    assert table.exit_code == 0 and "web-pool" in table.output and "degraded" in table.output
    assert "owners to notify: team-shop, team-web" in table.output
    excluded = json.loads(runner.invoke(app, ["impact", web1, "--exclude",
                                              estate.find("application", app_id="app-web").uid, "--json"]).output)
    assert {c["name"] for c in excluded["impacted"]} == {"i-web1", "web-pool"}
    missing = runner.invoke(app, ["impact", "nope"])
    assert missing.exit_code == 1 and "unknown CI" in missing.output


def test_deps_path_spof(estate: Harness) -> None:
    runner = CliRunner()
    shop = estate.find("business_service", service_id="svc-shop").uid
    dbhost = estate.find("physical_server", serial_number="SN-DB").uid
    deps = json.loads(runner.invoke(app, ["deps", shop, "--json"]).output)
    assert {(d["name"], d["depth"], d["redundant"]) for d in deps["dependencies"]} == {
        ("web-app", 1, False), ("web-pool", 2, False), ("orders-db", 2, False), ("db-host", 3, False),
        ("i-web1", 3, True), ("i-web2", 3, True), ("i-web3", 3, True),
    }
    paths = json.loads(runner.invoke(app, ["path", dbhost, shop, "--json"]).output)
    assert [s["name"] for s in paths["shortest"]] == ["db-host", "orders-db", "web-app", "shop"]
    spof = json.loads(runner.invoke(app, ["spof", shop, "--json"]).output)
    assert {s["name"] for s in spof["spofs"]} == {"web-app", "web-pool", "orders-db", "db-host"}
    assert runner.invoke(app, ["spof", shop]).exit_code == 0
    assert "db-host" in runner.invoke(app, ["path", dbhost, shop]).output


def test_network_impact_and_netspof_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cmdb impact --uplink`` and ``cmdb netspof`` on the API test's small network, in a real SQLite file."""
    from tests.api.test_network_impact import _estate

    h = Harness(tmp_path / "cmdb.sqlite")
    h.run(_estate(), source="snmp", scope="s1")
    monkeypatch.setenv("CMDB_STORE_URL", f"sqlite:///{h.sqlite.path}")
    monkeypatch.setenv("CMDB_DATA_DIR", str(tmp_path))
    uid = {n: h.find(cls, name=n).uid for n, cls in (("acc1", "switch"), ("acc2", "switch"), ("core", "switch"),
                                                      ("h2", "host"))}
    runner = CliRunner()
    out = runner.invoke(app, ["impact", uid["acc1"], "--json"])
    assert out.exit_code == 0, out.output
    h2 = next(c for c in json.loads(out.output)["impacted"] if c["name"] == "h2")
    assert (h2["grade"], h2["network"]) == ("degraded", {
        "links_up": 1, "links_total": 2, "paths_left": 1, "paths_total": 2, "min_up": 1, "rerouted": False,
        "via": "acc1 p3"})
    out = runner.invoke(app, ["impact", uid["core"], "--uplink", uid["acc2"], "--json"])
    assert out.exit_code == 0, out.output
    assert "h2" not in {c["name"] for c in json.loads(out.output)["impacted"]}
    spof = json.loads(runner.invoke(app, ["netspof", uid["acc1"], "--json"]).output)
    assert {(d["name"], len(d["cuts_off"])) for d in spof["devices"]} == {("rtr", 5), ("core", 4), ("acc1", 1)}
    assert runner.invoke(app, ["netspof", uid["acc1"]]).exit_code == 0
