"""The AWS source: describe_* and Route53 responses, transformed by ``discovery.aws.transform``.

Payloads have the shape ``discovery.aws.client`` collects (response pages keyed by
``service.operation``, per-resource calls with their ``_request``). Per account:
one region scope and one global scope, as the AWS scanner has. A terminated
instance stays listed (state ``terminated``) for the round after its end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.fidelity.truth import ACCOUNTS, REGION, Estate
from bench.fidelity.units import Index, Run
from discovery.aws.transform import dns_pointers, global_scope, region_scope, transform_global, transform_region


def global_payload(estate: Estate, account: str, index: Index) -> dict[str, list[dict[str, Any]]]:
    zones = [z for z in estate.zones.values() if z.account == account]
    index.add("account", None, f"account-{account}", account)
    payload: dict[str, list[dict[str, Any]]] = {
        "iam.list_account_aliases": [{"AccountAliases": [f"corp-{account[:3]}"]}],
        "route53.list_hosted_zones": [{"HostedZones": [
            {"Id": f"/hostedzone/{z.zone_id}", "Name": z.name, "Config": {"PrivateZone": z.private},
             "ResourceRecordSetCount": len(z.records) + 2} for z in zones]}],
        "route53.get_hosted_zone": [],
        "route53.list_resource_record_sets": [],
    }
    for zone in zones:
        index.add("zone", None, zone.tid, zone.zone_id)
        if zone.private:
            payload["route53.get_hosted_zone"].append({"_request": {"Id": zone.zone_id}, "VPCs": [
                {"VPCRegion": REGION, "VPCId": v} for v in zone.vpcs]})
        records: list[dict[str, Any]] = [
            {"Name": zone.name, "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org. 1 7200 900 1209600 86400"}]},
            {"Name": zone.name, "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org."}]},
        ]
        for tid, name, rtype, value in zone.records:
            records.append({"Name": name, "Type": rtype, "TTL": 300, "ResourceRecords": [{"Value": value}]})
            index.add("record", zone.tid, tid, name)
        payload["route53.list_resource_record_sets"].append({"_request": {"HostedZoneId": zone.zone_id},
                                                              "ResourceRecordSets": records})
    return payload


def region_payload(estate: Estate, account: str, rnd: int, index: Index) -> dict[str, list[dict[str, Any]]]:
    vpcs = [v for v in estate.vpcs.values() if v.account == account]
    index.add("account", None, f"account-{account}", account)
    index.add("region", f"account-{account}", f"region-{account}", REGION)
    instances = []
    for host in estate.hosts.values():
        if host.kind != "ec2" or host.account != account:
            continue
        thing = estate.things[host.tid]
        if not thing.alive(rnd) and thing.died != rnd:  # listed as terminated one round, then gone
            continue
        if thing.born > rnd:
            continue
        state = "running" if thing.alive(rnd) else "terminated"
        ip = host.primary.addrs[0].address
        instances.append({
            "InstanceId": host.instance_id, "InstanceType": "t3.medium", "ImageId": "ami-0c7217cdde317cfec",
            "State": {"Code": 16 if state == "running" else 48, "Name": state},
            "PrivateIpAddress": ip if state == "running" else None,
            "PrivateDnsName": f"{host.short}.ec2.internal", "SubnetId": host.subnet_id, "VpcId": host.site,
            "Placement": {"AvailabilityZone": f"{REGION}a"}, "Architecture": "x86_64",
            "SecurityGroups": [], "Tags": [{"Key": "Name", "Value": f"web-{host.short[-5:]}"}],
        })
        index.add("device", None, host.tid, host.instance_id)
    for vpc in vpcs:
        index.add("vpc", None, vpc.tid, vpc.vpc_id)
        for tid, subnet_id, _cidr in vpc.subnets:
            index.add("subnet", None, tid, subnet_id)
    return {
        "ec2.describe_vpcs": [{"Vpcs": [{"VpcId": v.vpc_id, "CidrBlock": v.cidr, "IsDefault": False,
                                         "Tags": [{"Key": "Name", "Value": v.vpc_id[-4:]}]} for v in vpcs]}],
        "ec2.describe_subnets": [{"Subnets": [
            {"SubnetId": s[1], "VpcId": v.vpc_id, "CidrBlock": s[2], "AvailabilityZone": f"{REGION}a"}
            for v in vpcs for s in v.subnets]}],
        "ec2.describe_instances": [{"Reservations": [{"Instances": [i]} for i in instances]}],
    }


def runs(estate: Estate, rnd: int, clock: Callable[[], int]) -> list[Run]:
    """This round's runs; ``clock`` gives each scope its observation time, as the scanner's now_ms() does."""
    out = []
    for account in ACCOUNTS:
        index = Index()
        payload = global_payload(estate, account, index)
        items, _ = transform_global(payload, account, clock())
        run = Run("aws", global_scope(account))
        run.add(items, index)
        out.append(run)
        region_index = Index()
        region_index.merge(index)  # the records' pointers resolve inside the region
        items, _ = transform_region(region_payload(estate, account, rnd, region_index), account, REGION,
                                    clock(), dns_pointers(payload))
        run = Run("aws", region_scope(account, REGION))
        run.add(items, region_index)
        out.append(run)
    return out
