"""What Route53 records point at, resolved inside each region.

Records are CIs of the account's global scope; the edge from a record to the
instance or load balancer it names is emitted by the scope of that target's
region. So an edge ages only when a complete scan of the target's region stops
seeing it, and a region that could not be read never loses its DNS edges.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmdb.observation import CIRef
from discovery.aws.transform.balancing import classic_elb_arn, normalize_dns
from discovery.aws.transform.compute import instance_ref, live_instances
from discovery.aws.transform.emit import Emitter, ref
from discovery.aws.transform.payload import Elements, Payload, items, pages

# Records every zone has; they name no dependency.
APEX_TYPES = frozenset({"SOA", "NS"})


@dataclass(frozen=True, slots=True)
class DnsPointer:
    """One value of one record: an address, an alias target or a CNAME target."""

    zone_id: str
    record_name: str
    record_type: str
    target: str
    vpcs: frozenset[str] = frozenset()  # a private zone's VPCs: its addresses resolve only there

    def record_ref(self) -> CIRef:
        return record_ref(self.zone_id, self.record_name, self.record_type)


def zone_id(raw: str) -> str:
    """``/hostedzone/Z123`` -> ``Z123``."""
    return raw.rsplit("/", 1)[-1]


def record_ref(zone: str, name: str, record_type: str) -> CIRef:
    return ref("dns_record", parent=ref("dns_zone", zone_id=zone), record_name=name, record_type=record_type)


def dns_pointers(payload: Payload) -> list[DnsPointer]:
    """Every target named by the records of an account's global payload (zone apex SOA/NS left out)."""
    zones = {zone_id(z["Id"]): z["Name"] for z in items(payload, "route53.list_hosted_zones", "HostedZones")}
    vpcs = {zone_id(page["_request"]["Id"]): frozenset(v["VPCId"] for v in page.get("VPCs") or [])
            for page in pages(payload, "route53.get_hosted_zone") if "_request" in page}
    pointers: list[DnsPointer] = []
    for page in payload.get("route53.list_resource_record_sets", []):
        zid = zone_id(page.get("_request", {}).get("HostedZoneId", ""))
        if zid not in zones:
            continue
        for record in Elements("route53.list_resource_record_sets", page.get("ResourceRecordSets") or []):
            if record["Type"] in APEX_TYPES and record["Name"] == zones[zid]:
                continue
            for rr in record.get("ResourceRecords") or []:
                pointers.append(DnsPointer(zid, record["Name"], record["Type"], rr["Value"], vpcs.get(zid, frozenset())))
            alias = record.get("AliasTarget")
            if alias and alias.get("DNSName"):
                pointers.append(DnsPointer(zid, record["Name"], record["Type"], alias["DNSName"]))
    return pointers


def transform_dns_edges(out: Emitter, payload: Payload, account_id: str, region: str,
                        pointers: list[DnsPointer]) -> None:
    """``record RESOLVES_TO`` each instance (by address) or load balancer (by DNS name) of this region."""
    if not pointers:
        return
    by_ip: dict[str, list[tuple[str, str]]] = {}  # address -> [(instance id, vpc id)]
    for instance in live_instances(payload):
        for key in ("PrivateIpAddress", "PublicIpAddress"):
            if instance.get(key):
                by_ip.setdefault(instance[key], []).append((instance["InstanceId"], instance.get("VpcId", "")))
    lbs: dict[str, str] = {}
    for lb in items(payload, "elbv2.describe_load_balancers", "LoadBalancers"):
        if lb.get("DNSName"):
            lbs[normalize_dns(lb["DNSName"])] = lb["LoadBalancerArn"]
    for lb in items(payload, "elb.describe_load_balancers", "LoadBalancerDescriptions"):
        if lb.get("DNSName"):
            lbs[normalize_dns(lb["DNSName"])] = classic_elb_arn(account_id, region, lb["LoadBalancerName"])
    for pointer in pointers:
        holders = [i for i, vpc in by_ip.get(pointer.target, []) if not pointer.vpcs or vpc in pointer.vpcs]
        for instance_id in holders:
            out.rel("RESOLVES_TO", pointer.record_ref(), instance_ref(instance_id))
        if not holders and normalize_dns(pointer.target) in lbs:
            out.rel("RESOLVES_TO", pointer.record_ref(), ref("load_balancer", arn=lbs[normalize_dns(pointer.target)]))
