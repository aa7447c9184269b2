"""Pure transforms: recorded payloads -> exactly the CIs and edges the estate builder expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cmdb.observation import CIRef, Item, Observation, ObservedRelation
from discovery.aws.transform import dns_pointers, transform_global, transform_region
from discovery.aws.transform.balancing import normalize_dns
from discovery.aws.transform.emit import Emitter, ref

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "aws"
KEY = {
    "cloud_account": "account_id", "cloud_region": "region", "vpc": "network_id", "subnet": "subnet_id",
    "route_table": "route_table_id", "gateway": "gateway_id", "security_group": "group_id",
    "cloud_instance": "instance_id", "cloud_interface": "interface_id", "volume": "volume_id",
    "cluster": "cluster_id", "load_balancer": "arn", "database": "db_id", "function": "function_arn",
    "bucket": "bucket_name", "dns_zone": "zone_id", "container_service": "service_arn", "iam_role": "role_arn",
}
T0 = 1_700_000_000_000


def _load(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


def _key(r: CIRef | Observation) -> str:
    ids = r.identifiers
    own = f"{ids['record_name']} {ids['record_type']}" if r.ci_class == "dns_record" else str(ids[KEY[r.ci_class]])
    return f"{_key(r.parent)}/{own}" if r.parent is not None else own


def _sets(items: list[Item]) -> tuple[set[tuple[str, str]], set[tuple[str, str, str]]]:
    cis = {(i.ci_class, _key(i)) for i in items if isinstance(i, Observation)}
    rels = {(i.type, _key(i.from_ci), _key(i.to_ci)) for i in items if isinstance(i, ObservedRelation)}
    # The pipeline, not the scanner, creates a dependent CI's CONTAINS edge from its parent.
    for item in items:
        if isinstance(item, Observation) and item.parent is not None:
            rels.add(("CONTAINS", _key(item.parent), _key(item)))
    return cis, rels


def test_recorded_estate_yields_exactly_the_expected_cis_and_edges() -> None:
    expected = _load("expected")
    account, region = expected["account"], expected["region"]
    global_payload = _load("global")
    global_items, _ = transform_global(global_payload, account, T0)
    region_items, stats = transform_region(_load("region"), account, region, T0, dns_pointers(global_payload))
    cis, rels = _sets(global_items + region_items)
    assert cis == {tuple(c) for c in expected["cis"]}
    assert rels == {tuple(r) for r in expected["rels"]}
    assert stats["cloud_instance"] == len({k for c, k in cis if c == "cloud_instance"})
    assert all(i.scope == f"{account}/{region}" and i.source == "aws" and i.observed_at == T0 for i in region_items)


def test_cis_come_before_edges_so_ingest_resolves_every_end() -> None:
    expected = _load("expected")
    items, _ = transform_region(_load("region"), expected["account"], expected["region"], T0)
    kinds = [isinstance(i, Observation) for i in items]
    assert kinds == sorted(kinds, reverse=True)
    seen = {(i.ci_class, _key(i)) for i in items if isinstance(i, Observation)}
    for rel in (i for i in items if isinstance(i, ObservedRelation)):
        assert (rel.from_ci.ci_class, _key(rel.from_ci)) in seen
        assert (rel.to_ci.ci_class, _key(rel.to_ci)) in seen


def _instance(instance_id: str, state: str, subnet: str = "subnet-1") -> dict[str, Any]:
    return {"InstanceId": instance_id, "State": {"Name": state}, "SubnetId": subnet,
            "PrivateIpAddress": "10.0.0.5" if state == "running" else "10.0.0.6",
            "SecurityGroups": [{"GroupId": "sg-1"}], "Tags": [{"Key": "Name", "Value": instance_id}]}


def test_terminated_instances_and_what_hangs_off_them_are_not_seen() -> None:
    payload: dict[str, list[dict[str, Any]]] = {
        "ec2.describe_instances": [{"Reservations": [
            {"Instances": [_instance("i-live", "running"), _instance("i-gone", "terminated")]}]}],
        "ec2.describe_network_interfaces": [{"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-live", "SubnetId": "subnet-1", "Attachment": {"InstanceId": "i-live"}},
            {"NetworkInterfaceId": "eni-gone", "SubnetId": "subnet-1", "Attachment": {"InstanceId": "i-gone"}}]}],
        "ec2.describe_volumes": [{"Volumes": [{"VolumeId": "vol-1", "Size": 8, "State": "in-use", "Attachments": [
            {"InstanceId": "i-gone", "State": "attached"}]}]}],
        "ec2.describe_subnets": [{"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"}]}],
        "ec2.describe_security_groups": [{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web"}]}],
    }
    cis, rels = _sets(transform_region(payload, "1", "r", T0)[0])
    assert {k for c, k in cis if c in ("cloud_instance", "cloud_interface", "volume")} == {"i-live", "eni-live", "vol-1"}
    assert {r for r in rels if r[0] == "ATTACHED_TO"} == {("ATTACHED_TO", "eni-live", "i-live")}


def test_security_group_peers_one_edge_per_peer_with_every_port_range() -> None:
    group = {"GroupId": "sg-app", "GroupName": "app", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": "sg-web"}]},
        {"IpProtocol": "tcp", "FromPort": 9000, "ToPort": 9100,
         "UserIdGroupPairs": [{"GroupId": "sg-web"}, {"GroupId": "sg-app"}, {"GroupId": "sg-elsewhere"}]},
    ]}
    payload: dict[str, list[dict[str, Any]]] = {"ec2.describe_security_groups": [{"SecurityGroups": [group, {"GroupId": "sg-web", "GroupName": "web"}]}]}
    items, stats = transform_region(payload, "1", "r", T0)
    edges = [(i.from_ci.identifiers["group_id"], i.to_ci.identifiers["group_id"], i.attributes)
             for i in items if isinstance(i, ObservedRelation) and i.type == "ALLOWS_FROM"]
    # Self-reference dropped (ingest refuses an edge to itself); the unknown peer counted, not invented.
    assert edges == [("sg-app", "sg-web", {"ports": ["tcp/8080-8080", "tcp/9000-9100"]})]
    assert stats["unresolved_sg_peer"] == 1


def test_weighted_record_sets_are_one_record_and_apex_records_are_left_out() -> None:
    payload: dict[str, list[dict[str, Any]]] = {
        "route53.list_hosted_zones": [{"HostedZones": [{"Id": "/hostedzone/Z1", "Name": "corp.example.",
                                                        "Config": {"PrivateZone": True}}]}],
        "route53.list_resource_record_sets": [{"_request": {"HostedZoneId": "/hostedzone/Z1"}, "ResourceRecordSets": [
            {"Name": "corp.example.", "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns. admin. 1"}]},
            {"Name": "corp.example.", "Type": "NS", "TTL": 900, "ResourceRecords": [{"Value": "ns1."}]},
            {"Name": "api.corp.example.", "Type": "A", "SetIdentifier": "a", "Weight": 1, "TTL": 60,
             "ResourceRecords": [{"Value": "10.0.0.5"}]},
            {"Name": "api.corp.example.", "Type": "A", "SetIdentifier": "b", "Weight": 1, "TTL": 60,
             "ResourceRecords": [{"Value": "10.0.0.9"}]},
        ]}],
    }
    items, _ = transform_global(payload, "1", T0)
    records = [i for i in items if isinstance(i, Observation) and i.ci_class == "dns_record"]
    assert [(r.identifiers, r.attributes["values"], r.parent) for r in records] == [
        ({"record_name": "api.corp.example.", "record_type": "A"}, ["10.0.0.5", "10.0.0.9"],
         ref("dns_zone", zone_id="Z1"))]
    pointers = dns_pointers(payload)
    assert [p.target for p in pointers] == ["10.0.0.5", "10.0.0.9"]
    # Only the region holding 10.0.0.5 claims the edge.
    region = {"ec2.describe_instances": [{"Reservations": [{"Instances": [_instance("i-live", "running")]}]}]}
    items, _ = transform_region(region, "1", "r", T0, pointers)
    assert [(i.from_ci.identifiers["record_name"], i.to_ci.identifiers) for i in items
            if isinstance(i, ObservedRelation) and i.type == "RESOLVES_TO"] == [
        ("api.corp.example.", {"instance_id": "i-live"})]


def test_alias_names_are_normalised() -> None:
    assert normalize_dns("dualstack.Front-1.eu-west-1.elb.amazonaws.com.") == "front-1.eu-west-1.elb.amazonaws.com"


def test_emitter_keeps_one_of_each_and_drops_null_attributes() -> None:
    out = Emitter(scope="1/r", observed_at=T0)
    a = out.ci(ref("vpc", network_id="vpc-1"), name="main", cidr=None, tags={})
    out.ci(ref("vpc", network_id="vpc-1"), name="other")
    b = out.ci(ref("subnet", subnet_id="subnet-1"))
    out.rel("IN_NETWORK", b, a)
    out.rel("IN_NETWORK", b, a)
    assert [(type(i).__name__, getattr(i, "attributes", None)) for i in out.items] == [
        ("Observation", {"name": "main", "network_id": "vpc-1"}),
        ("Observation", {"subnet_id": "subnet-1"}),
        ("ObservedRelation", {}),
    ]


def test_private_zone_addresses_resolve_only_inside_its_vpcs() -> None:
    zone = {"Id": "/hostedzone/Z2", "Name": "int.example.", "Config": {"PrivateZone": True}}
    payload: dict[str, list[dict[str, Any]]] = {
        "route53.list_hosted_zones": [{"HostedZones": [zone]}],
        "route53.get_hosted_zone": [{"_request": {"Id": "/hostedzone/Z2"}, "HostedZone": zone,
                                     "VPCs": [{"VPCRegion": "r", "VPCId": "vpc-b"}]}],
        "route53.list_resource_record_sets": [{"_request": {"HostedZoneId": "/hostedzone/Z2"}, "ResourceRecordSets": [
            {"Name": "db.int.example.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "10.0.0.5"}]}]}],
    }
    # The same private address in two VPCs of one region.
    region = {"ec2.describe_instances": [{"Reservations": [{"Instances": [
        {**_instance("i-in-a", "running"), "VpcId": "vpc-a"}, {**_instance("i-in-b", "running"), "VpcId": "vpc-b"}]}]}]}
    items, _ = transform_region(region, "1", "r", T0, dns_pointers(payload))
    assert [i.to_ci.identifiers for i in items if isinstance(i, ObservedRelation) and i.type == "RESOLVES_TO"] == [
        {"instance_id": "i-in-b"}]


def _malformed_region() -> Any:
    """The recorded region payload with four elements broken the ways real payloads break:
    a field of the wrong type, a missing id, a string where an object belongs."""
    payload = _load("region")
    for reservation in payload["ec2.describe_instances"][0]["Reservations"]:
        for instance in reservation["Instances"]:
            if instance["InstanceId"] == "i-6d700425df7ac89f9":
                instance["State"] = "running"
    del payload["ec2.describe_security_groups"][0]["SecurityGroups"][1]["GroupId"]  # the "web" group
    del payload["elbv2.describe_target_groups"][0]["TargetGroups"][1]["TargetGroupArn"]  # "spare"
    payload["elbv2.describe_target_health"][2]["TargetHealthDescriptions"][0]["Target"] = "i-26cccf5be59e1fb55"
    return payload


def test_one_malformed_element_is_named_and_skipped_and_the_rest_of_the_region_is_described() -> None:
    expected = _load("expected")
    account, region = expected["account"], expected["region"]
    clean_cis, clean_rels = _sets(transform_region(_load("region"), account, region, T0)[0])
    problems: list[str] = []
    items, _ = transform_region(_malformed_region(), account, region, T0, None, problems)
    assert problems == [
        "ec2.describe_security_groups: GroupName=web is malformed (KeyError: 'GroupId'), skipped",
        "ec2.describe_instances: InstanceId=i-6d700425df7ac89f9 is malformed "
        "(AttributeError: 'str' object has no attribute 'get'), skipped",
        "elbv2.describe_target_groups: TargetGroupName=spare is malformed (KeyError: 'TargetGroupArn'), skipped",
        "elbv2.describe_target_health: an element without an id is malformed "
        "(AttributeError: 'str' object has no attribute 'get'), skipped",
    ]
    cis, rels = _sets(items)
    web_tg = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web/2ab47cb65ee31f31"
    # Exactly what hung off the four elements is missing; everything else is there.
    assert clean_cis - cis == {
        ("cloud_instance", "i-6d700425df7ac89f9"), ("security_group", "sg-b75cec94876ef2a34"),
        ("cluster", "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/spare/ce41dd18b545b933"),
        ("cloud_interface", "eni-b363fb2aa1d7d9826"),  # the instance's ENI goes with the instance
    }
    assert clean_rels - rels == {
        ("ALLOWS_FROM", "sg-22455b629237d950b", "sg-b75cec94876ef2a34"),
        ("ATTACHED_TO", "eni-b363fb2aa1d7d9826", "i-6d700425df7ac89f9"),
        ("ATTACHED_TO", "vol-73a2404cbb462083b", "i-6d700425df7ac89f9"),
        ("IN_NETWORK", "eni-b363fb2aa1d7d9826", "subnet-b1656b437148aa6d1"),
        ("IN_NETWORK", "i-6d700425df7ac89f9", "subnet-b1656b437148aa6d1"),
        ("IN_NETWORK", "sg-b75cec94876ef2a34", "vpc-92005ba91a602232e"),
        ("MEMBER_OF", "eni-b363fb2aa1d7d9826", "sg-b75cec94876ef2a34"),
        ("MEMBER_OF", "i-6d700425df7ac89f9", "sg-b75cec94876ef2a34"),
        ("ROUTES_TO", web_tg, "i-26cccf5be59e1fb55"), ("ROUTES_TO", web_tg, "i-6d700425df7ac89f9"),
    }
    assert cis <= clean_cis and rels <= clean_rels


def test_without_a_problems_list_a_malformed_payload_still_raises() -> None:
    expected = _load("expected")
    try:
        transform_region(_malformed_region(), expected["account"], expected["region"], T0)
    except (KeyError, AttributeError):
        return
    raise AssertionError("a malformed payload transformed without a place to report it")
