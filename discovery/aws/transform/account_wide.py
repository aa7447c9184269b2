"""The account's global services: the account itself, IAM roles, S3 buckets and Route53."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef
from discovery.aws.transform.balancing import classic_elb_arn, normalize_dns
from discovery.aws.transform.compute import instance_ref, live_instances
from discovery.aws.transform.emit import Emitter, account_ref, ref
from discovery.aws.transform.payload import Payload, items

# Records every zone has; they name no dependency.
_APEX_TYPES = frozenset({"SOA", "NS"})


@dataclass
class TargetIndex:
    """What DNS records may point at, learned from the account's regional payloads."""

    instance_by_ip: dict[str, str] = field(default_factory=dict)
    lb_by_dns: dict[str, str] = field(default_factory=dict)

    def add_region(self, payload: Payload, account_id: str, region: str) -> None:
        """Index the live instances' addresses and the load balancers' DNS names of one region."""
        for instance in live_instances(payload):
            for key in ("PrivateIpAddress", "PublicIpAddress"):
                if instance.get(key):
                    self.instance_by_ip[instance[key]] = instance["InstanceId"]
        for lb in items(payload, "elbv2.describe_load_balancers", "LoadBalancers"):
            if lb.get("DNSName"):
                self.lb_by_dns[normalize_dns(lb["DNSName"])] = lb["LoadBalancerArn"]
        for lb in items(payload, "elb.describe_load_balancers", "LoadBalancerDescriptions"):
            if lb.get("DNSName"):
                self.lb_by_dns[normalize_dns(lb["DNSName"])] = classic_elb_arn(account_id, region,
                                                                               lb["LoadBalancerName"])

    def resolve(self, value: str) -> CIRef | None:
        """The CI a record value (address, alias or CNAME target) points at, if known."""
        if value in self.instance_by_ip:
            return instance_ref(self.instance_by_ip[value])
        arn = self.lb_by_dns.get(normalize_dns(value))
        return ref("load_balancer", arn=arn) if arn else None


def zone_id(raw: str) -> str:
    return raw.rsplit("/", 1)[-1]


def transform_account(out: Emitter, payload: Payload, account_id: str, index: TargetIndex) -> None:
    """Account, roles, buckets, zones and records (RESOLVES_TO what ``index`` knows)."""
    aliases = items(payload, "iam.list_account_aliases", "AccountAliases")
    account = out.ci(account_ref(account_id), name=aliases[0] if aliases else account_id, provider="aws",
                     alias=aliases[0] if aliases else None)

    for role in items(payload, "iam.list_roles", "Roles"):
        role_ci = out.ci(ref("iam_role", role_arn=role["Arn"]), name=role["RoleName"], path=role.get("Path"),
                         description=role.get("Description") or None)
        out.rel("CONTAINS", account, role_ci)

    locations = {p["_request"]["Bucket"]: p.get("LocationConstraint") for p in
                 payload.get("s3.get_bucket_location", []) if "_request" in p}
    versioning = {p["_request"]["Bucket"]: p.get("Status") == "Enabled" for p in
                  payload.get("s3.get_bucket_versioning", []) if "_request" in p}
    for bucket in items(payload, "s3.list_buckets", "Buckets"):
        name = bucket["Name"]
        bucket_ci = out.ci(ref("bucket", bucket_name=name), name=name,
                           region=(locations.get(name) or "us-east-1") if name in locations else None,
                           versioning=versioning.get(name))
        out.rel("CONTAINS", account, bucket_ci)

    zones = {zone_id(z["Id"]): z for z in items(payload, "route53.list_hosted_zones", "HostedZones")}
    for zid, zone in zones.items():
        zone_ci = out.ci(ref("dns_zone", zone_id=zid), name=zone["Name"], zone_name=zone["Name"],
                         private=bool((zone.get("Config") or {}).get("PrivateZone", False)))
        out.rel("CONTAINS", account, zone_ci)
    records: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for page in payload.get("route53.list_resource_record_sets", []):
        zid = zone_id(page.get("_request", {}).get("HostedZoneId", ""))
        if zid not in zones:
            continue
        for record in page.get("ResourceRecordSets") or []:
            if record["Type"] in _APEX_TYPES and record["Name"] == zones[zid]["Name"]:
                continue
            records[(zid, record["Name"], record["Type"])].append(record)
    for (zid, name, rtype), sets in records.items():
        _record(out, zones[zid], zid, name, rtype, sets, index)


def _record(out: Emitter, zone: dict[str, Any], zid: str, name: str, rtype: str,
            sets: list[dict[str, Any]], index: TargetIndex) -> None:
    # Weighted/latency sets share a name and type: one record CI holds all their values.
    values: list[str] = []
    targets: list[str] = []
    for record in sets:
        for rr in record.get("ResourceRecords") or []:
            values.append(rr["Value"])
            targets.append(rr["Value"])
        alias = record.get("AliasTarget")
        if alias and alias.get("DNSName"):
            values.append(f"ALIAS {alias['DNSName']}")
            targets.append(alias["DNSName"])
    ttl = next((r["TTL"] for r in sets if r.get("TTL") is not None), None)
    parent = ref("dns_zone", zone_id=zid)
    record_ci = out.ci(ref("dns_record", parent=parent, record_name=name, record_type=rtype), name=name,
                       values=sorted(set(values)), ttl=ttl)
    for target in targets:
        resolved = index.resolve(target)
        if resolved is not None:
            out.rel("RESOLVES_TO", record_ci, resolved)
        elif rtype in ("A", "AAAA", "CNAME"):
            out.stats["unresolved_dns_target"] += 1
