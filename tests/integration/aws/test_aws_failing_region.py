"""A region whose endpoint fails mid-scan ends incomplete and ages nothing; the others apply."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cmdb.ingest import Ingestor
from cmdb.model import Action, RunStatus
from cmdb.observation import Observation
from cmdb.store.sqlite import SQLiteStore
from discovery.aws import AccountSources, AwsScanConfig, AwsScanner, ClientSettings
from discovery.base import ScopeResult
from discovery.runner import run_scan
from schema import load_schema
from tests.integration.aws.aws_estate import (
    REGIONS,
    Expected,
    account_session,
    build_small_account,
    expect_instances,
    reset_moto,
    store_view,
)
from tests.integration.aws.conftest import FlakyProxy

ACCOUNT = "333333333333"
HEALTHY, FAILING = REGIONS


def test_failing_region_is_incomplete_and_ages_nothing(moto_endpoint: str, flaky_proxy: FlakyProxy,
                                                        tmp_path: Path) -> None:
    reset_moto(moto_endpoint)
    estate = build_small_account(moto_endpoint, ACCOUNT)
    store = SQLiteStore(tmp_path / "cmdb.db")
    ingestor = Ingestor(store, load_schema())
    scanner = AwsScanner(AwsScanConfig(
        accounts=AccountSources(role_arns=(f"arn:aws:iam::{ACCOUNT}:role/cmdb-reader",)), regions=REGIONS,
        client=ClientSettings(endpoint_url=flaky_proxy.url, max_attempts=1), max_workers=3))
    try:
        first = asyncio.run(run_scan(scanner, ingestor))
        assert {run.status for run in first} == {RunStatus.COMPLETE}
        assert store_view(store).cis == estate.cis

        session = account_session(moto_endpoint, ACCOUNT)
        changed: dict[str, Expected] = {}
        for region in REGIONS:
            ec2 = session.client("ec2", endpoint_url=moto_endpoint, region_name=region)
            handles = estate.handles[region]
            gone = Expected()
            expect_instances(gone, ec2, [handles["instances"][1]], handles["region_key"])
            ec2.terminate_instances(InstanceIds=[handles["instances"][1]])
            changed[region] = gone
        ec2 = session.client("ec2", endpoint_url=moto_endpoint, region_name=HEALTHY)
        handles = estate.handles[HEALTHY]
        added = ec2.run_instances(ImageId=handles["image"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                  SubnetId=handles["subnets"][0])["Instances"][0]["InstanceId"]

        # The failing region answers its first few calls, then only 503s (past the retries).
        runs = []
        for _ in range(2):  # stale_after_runs complete runs: the healthy region's losses go stale
            flaky_proxy.fail_region(FAILING, after=3)
            runs.append({run.scope: run for run in asyncio.run(run_scan(scanner, ingestor))})
        for by_scope in runs:
            failing = by_scope[f"{ACCOUNT}/{FAILING}"]
            assert failing.status is RunStatus.INCOMPLETE
            assert any("503" in error or "Unavailable" in error for error in failing.errors), failing.errors
            assert by_scope[f"{ACCOUNT}/{HEALTHY}"].status is RunStatus.COMPLETE
            assert by_scope[f"{ACCOUNT}/global"].status is RunStatus.COMPLETE

        failing_runs = {by_scope[f"{ACCOUNT}/{FAILING}"].run_id for by_scope in runs}
        aged = [e for batch in store.iter_history() for e in batch
                if e.run_id in failing_runs and e.action in (Action.STALE, Action.RETIRE)]
        assert aged == []
        active = store_view(store)
        # What the failing region lost is still active (with the DNS edge into it, which that region's
        # scope owns); what the healthy one lost is stale; its new instance is in.
        assert changed[FAILING].cis <= active.cis
        assert {r for r in estate.rels if r[0] == "RESOLVES_TO"} <= active.rels
        assert ("cloud_instance", added) in active.cis
        stale = store_view(store, ("stale",))
        assert stale.cis == changed[HEALTHY].cis
        assert stale.rels == {r for r in store_view(store, ("active", "stale")).rels
                              if r[1] in {k for _, k in changed[HEALTHY].cis}
                              or r[2] in {k for _, k in changed[HEALTHY].cis}} - active.rels
    finally:
        store.close()


def test_unreachable_account_is_an_incomplete_global_scope(flaky_proxy: FlakyProxy) -> None:
    # STS itself failing: the account cannot be reached at all; its scope says why.
    flaky_proxy.fail_region("us-east-1", after=0)
    scanner = AwsScanner(AwsScanConfig(
        accounts=AccountSources(role_arns=(f"arn:aws:iam::{ACCOUNT}:role/cmdb-reader",)), regions=(FAILING,),
        client=ClientSettings(endpoint_url=flaky_proxy.url, max_attempts=1), max_workers=2))

    async def collect() -> list[ScopeResult]:
        return [result async for result in scanner.scan()]

    results = asyncio.run(collect())
    assert [(r.scope, r.complete, r.items) for r in results] == [(f"{ACCOUNT}/global", False, [])]
    assert "account unreachable" in results[0].errors[0]


def test_throttling_is_retried_with_backoff_and_the_scope_completes(moto_endpoint: str,
                                                                    flaky_proxy: FlakyProxy) -> None:
    reset_moto(moto_endpoint)
    flaky_proxy.throttle_region(FAILING, requests=2)  # the region's first call is throttled twice
    scanner = AwsScanner(AwsScanConfig(
        accounts=AccountSources(role_arns=(f"arn:aws:iam::{ACCOUNT}:role/cmdb-reader",)), regions=(FAILING,),
        client=ClientSettings(endpoint_url=flaky_proxy.url, max_attempts=3), max_workers=2))

    async def collect() -> list[ScopeResult]:
        return [result async for result in scanner.scan()]

    results = {r.scope: r for r in asyncio.run(collect())}
    assert flaky_proxy.throttles == 0
    region = results[f"{ACCOUNT}/{FAILING}"]
    assert (region.complete, region.errors) == (True, [])
    assert ("vpc", True) in {(i.ci_class, i.attributes.get("is_default")) for i in region.items
                             if isinstance(i, Observation) and i.ci_class == "vpc"}
