"""The account's global services: the account itself, IAM roles, S3 buckets and Route53."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from discovery.aws.transform.dns import APEX_TYPES, record_ref, zone_id
from discovery.aws.transform.emit import Emitter, account_ref, ref
from discovery.aws.transform.payload import Elements, Payload, items, pages


def transform_account(out: Emitter, payload: Payload, account_id: str) -> None:
    """Account, roles, buckets, zones and records (their RESOLVES_TO edges come from the regions)."""
    aliases = items(payload, "iam.list_account_aliases", "AccountAliases")
    account = out.ci(account_ref(account_id), name=aliases[0] if aliases else account_id, provider="aws",
                     alias=aliases[0] if aliases else None)

    for role in items(payload, "iam.list_roles", "Roles"):
        role_ci = out.ci(ref("iam_role", role_arn=role["Arn"]), name=role["RoleName"], path=role.get("Path"),
                         description=role.get("Description") or None)
        out.rel("CONTAINS", account, role_ci)

    locations = {p["_request"]["Bucket"]: p.get("LocationConstraint") for p in
                 pages(payload, "s3.get_bucket_location") if "_request" in p}
    versioning = {p["_request"]["Bucket"]: p.get("Status") == "Enabled" for p in
                  pages(payload, "s3.get_bucket_versioning") if "_request" in p}
    for bucket in items(payload, "s3.list_buckets", "Buckets"):
        name = bucket["Name"]
        bucket_ci = out.ci(ref("bucket", bucket_name=name), name=name,
                           region=(locations.get(name) or "us-east-1") if name in locations else None,
                           versioning=versioning.get(name))
        out.rel("CONTAINS", account, bucket_ci)

    zones = {zone_id(z["Id"]): z for z in items(payload, "route53.list_hosted_zones", "HostedZones")}
    for zid, zone in zones.items():
        # A zone name is unique only within its account and visibility (split-horizon DNS
        # has a public and a private zone of one name): both travel with the zone.
        zone_ci = out.ci(ref("dns_zone", zone_id=zid), name=zone["Name"], zone_name=zone["Name"],
                         account_id=account_id, private=bool((zone.get("Config") or {}).get("PrivateZone", False)))
        out.rel("CONTAINS", account, zone_ci)
    records: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for page in payload.get("route53.list_resource_record_sets", []):
        zid = zone_id(page.get("_request", {}).get("HostedZoneId", ""))
        if zid not in zones:
            continue
        for record in Elements("route53.list_resource_record_sets", page.get("ResourceRecordSets") or []):
            if record["Type"] in APEX_TYPES and record["Name"] == zones[zid]["Name"]:
                continue
            records[(zid, record["Name"], record["Type"])].append(record)
    for (zid, name, rtype), sets in records.items():
        _record(out, zid, name, rtype, sets)


def _record(out: Emitter, zid: str, name: str, rtype: str, sets: list[dict[str, Any]]) -> None:
    # Weighted/latency sets share a name and type: one record CI holds all their values.
    values: list[str] = []
    for record in Elements("route53.list_resource_record_sets", sets):
        values.extend(rr["Value"] for rr in record.get("ResourceRecords") or [])
        alias = record.get("AliasTarget")
        if alias and alias.get("DNSName"):
            values.append(f"ALIAS {alias['DNSName']}")
    ttl = next((r["TTL"] for r in sets if r.get("TTL") is not None), None)
    out.ci(record_ref(zid, name, rtype), name=name, values=sorted(set(values)), ttl=ttl)
