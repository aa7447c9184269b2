"""A record of one account aliasing a load balancer of another resolves when both accounts are
scanned (moto server, two accounts, one scan, ingested into SQLite); an address in the other
account's record does not (private address spaces of two accounts overlap)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cmdb.ingest import Ingestor
from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.aws import AccountSources, AwsScanConfig, AwsScanner, ClientSettings
from discovery.runner import run_scan
from schema import load_schema
from tests.integration.aws.aws_estate import _drop_default_vpc, account_session, reset_moto, store_view

ZONE_ACCOUNT, LB_ACCOUNT, REGION = "777777777777", "888888888888", "us-east-1"


def test_an_alias_to_another_accounts_load_balancer_resolves_when_both_are_scanned(moto_endpoint: str,
                                                                                  tmp_path: Path) -> None:
    reset_moto(moto_endpoint)
    lb_side = account_session(moto_endpoint, LB_ACCOUNT)
    ec2 = lb_side.client("ec2", endpoint_url=moto_endpoint, region_name=REGION)
    _drop_default_vpc(ec2)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{az}")
               ["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    address = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                SubnetId=subnets[0])["Instances"][0]["PrivateIpAddress"]
    alb = lb_side.client("elbv2", endpoint_url=moto_endpoint, region_name=REGION).create_load_balancer(
        Name="shop-888", Subnets=subnets, Type="application")["LoadBalancers"][0]

    zone_side = account_session(moto_endpoint, ZONE_ACCOUNT)
    _drop_default_vpc(zone_side.client("ec2", endpoint_url=moto_endpoint, region_name=REGION))
    route53 = zone_side.client("route53", endpoint_url=moto_endpoint, region_name="us-east-1")
    zone_id = route53.create_hosted_zone(Name="shop.example.", CallerReference="shop")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.shop.example.", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": f"dualstack.{alb['DNSName']}.", "EvaluateTargetHealth": False}}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "db.shop.example.", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": address}]}}]})
    zone = zone_id.rsplit("/", 1)[-1]

    store = SQLiteStore(tmp_path / "cmdb.db")
    scanner = AwsScanner(AwsScanConfig(
        accounts=AccountSources(role_arns=tuple(f"arn:aws:iam::{a}:role/cmdb-reader"
                                                for a in (ZONE_ACCOUNT, LB_ACCOUNT))),
        regions=(REGION,), client=ClientSettings(endpoint_url=moto_endpoint, max_attempts=1), max_workers=4))
    try:
        runs = asyncio.run(run_scan(scanner, Ingestor(store, load_schema())))
        assert {(r.scope, r.status, tuple(r.errors)) for r in runs} == {
            (f"{a}/{s}", RunStatus.COMPLETE, ()) for a in (ZONE_ACCOUNT, LB_ACCOUNT) for s in ("global", REGION)}
        resolved = {r for r in store_view(store).rels if r[0] == "RESOLVES_TO"}
        assert resolved == {("RESOLVES_TO", f"{zone}/www.shop.example A", alb["LoadBalancerArn"])}
    finally:
        store.close()
