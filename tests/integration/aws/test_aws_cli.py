"""``cmdb discover aws`` end to end: a real CLI process, accounts from an AWS Organization in moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

from cmdb.store.sqlite import SQLiteStore
from tests.integration.aws.aws_estate import reset_moto

CMDB = str(Path(sys.executable).with_name("cmdb"))


def test_discover_aws_sweeps_every_organization_account(moto_endpoint: str, tmp_path: Path) -> None:
    reset_moto(moto_endpoint)
    org = boto3.client("organizations", endpoint_url=moto_endpoint, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    member = org.create_account(AccountName="shop", Email="shop@example.com")["CreateAccountStatus"]["AccountId"]
    db = tmp_path / "cmdb.db"
    env = {**os.environ, "CMDB_STORE_URL": f"sqlite:///{db}", "CMDB_DATA_DIR": str(tmp_path)}

    done = subprocess.run(
        [CMDB, "discover", "aws", "--org-role", "OrganizationAccountAccessRole", "--regions", "eu-west-1",
         "--endpoint-url", moto_endpoint, "--max-attempts", "2", "--workers", "4", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {(s["scope"], s["status"]) for s in summary["scopes"]} == {
        (f"{a}/{s}", "complete") for a in (management, member) for s in ("global", "eu-west-1")}
    assert summary["incomplete"] == 0 and summary["totals"]["rejected"] == 0
    store = SQLiteStore(db)
    try:
        accounts = {ci.attributes["account_id"] for b in store.iter_cis() for ci in b if ci.ci_class == "cloud_account"}
        default_vpcs = {ci.attributes["network_id"] for b in store.iter_cis() for ci in b if ci.ci_class == "vpc"}
    finally:
        store.close()
    assert accounts == {management, member}
    expected_vpcs = set()
    for account in (management, member):
        ec2 = boto3.client("ec2", endpoint_url=moto_endpoint, region_name="eu-west-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ec2.meta.events.register("before-sign.*.*", lambda request, a=account, **_: request.headers.__setitem__(
            "x-moto-account-id", a))
        expected_vpcs |= {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert default_vpcs == expected_vpcs

    # A second run, in process this time: nothing changes, and the summary table says so.
    from typer.testing import CliRunner

    from cmdb_cli.main import app

    result = CliRunner().invoke(app, [
        "discover", "aws", "--org-role", "OrganizationAccountAccessRole", "--regions", "eu-west-1",
        "--endpoint-url", moto_endpoint, "--max-attempts", "2", "--store", f"sqlite:///{db}", "--json"], env=env)
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert {(s["scope"], s["status"]) for s in again["scopes"]} == {(s["scope"], "complete") for s in summary["scopes"]}
    assert {k: again["totals"][k] for k in ("created", "updated", "relationships_created", "stale", "retired")} == {
        "created": 0, "updated": 0, "relationships_created": 0, "stale": 0, "retired": 0}
