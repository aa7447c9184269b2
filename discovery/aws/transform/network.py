"""VPCs, subnets, route tables, gateways and security groups."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cmdb.observation import CIRef
from discovery.aws.transform.emit import Emitter, ref, tag_map
from discovery.aws.transform.payload import Payload, items


def vpc_ref(vpc_id: str) -> CIRef:
    return ref("vpc", network_id=vpc_id)


def subnet_ref(subnet_id: str) -> CIRef:
    return ref("subnet", subnet_id=subnet_id)


def sg_ref(group_id: str) -> CIRef:
    return ref("security_group", group_id=group_id)


def gateway_ref(gateway_id: str) -> CIRef:
    return ref("gateway", gateway_id=gateway_id)


def transform_network(out: Emitter, payload: Payload, region: CIRef) -> None:
    """VPCs (in the region), subnets, route tables, internet/NAT gateways and security groups."""
    for vpc in items(payload, "ec2.describe_vpcs", "Vpcs"):
        tags = tag_map(vpc.get("Tags"))
        vpc_ci = out.ci(vpc_ref(vpc["VpcId"]), name=tags.get("Name", vpc["VpcId"]), cidr=vpc.get("CidrBlock"),
                        is_default=bool(vpc.get("IsDefault", False)), tags=tags)
        out.rel("CONTAINS", region, vpc_ci)

    for subnet in items(payload, "ec2.describe_subnets", "Subnets"):
        tags = tag_map(subnet.get("Tags"))
        subnet_ci = out.ci(subnet_ref(subnet["SubnetId"]), name=tags.get("Name", subnet["SubnetId"]),
                           cidr=subnet.get("CidrBlock"), network_scope=subnet.get("VpcId"),
                           availability_zone=subnet.get("AvailabilityZone"), tags=tags)
        if subnet.get("VpcId"):
            out.rel("IN_NETWORK", subnet_ci, vpc_ref(subnet["VpcId"]))

    for gw in items(payload, "ec2.describe_internet_gateways", "InternetGateways"):
        tags = tag_map(gw.get("Tags"))
        attachments = gw.get("Attachments") or []
        state = attachments[0].get("State") if attachments else "detached"
        gw_ci = out.ci(gateway_ref(gw["InternetGatewayId"]), name=tags.get("Name", gw["InternetGatewayId"]),
                       kind="internet", state=state, tags=tags)
        for attachment in attachments:
            out.rel("IN_NETWORK", gw_ci, vpc_ref(attachment["VpcId"]))

    for nat in items(payload, "ec2.describe_nat_gateways", "NatGateways"):
        if nat.get("State") in ("deleted", "deleting", "failed"):
            continue
        tags = tag_map(nat.get("Tags"))
        addresses = nat.get("NatGatewayAddresses") or []
        nat_ci = out.ci(gateway_ref(nat["NatGatewayId"]), name=tags.get("Name", nat["NatGatewayId"]), kind="nat",
                        state=nat.get("State"), public_ip=addresses[0].get("PublicIp") if addresses else None,
                        tags=tags)
        if nat.get("SubnetId"):
            out.rel("IN_NETWORK", nat_ci, subnet_ref(nat["SubnetId"]))

    tables = items(payload, "ec2.describe_route_tables", "RouteTables")
    for table in tables:
        _route_table(out, table)
    _main_route_tables(out, payload, tables)

    prefix_lists = {p["PrefixListId"]: p.get("PrefixListName") or p["PrefixListId"]
                    for p in items(payload, "ec2.describe_managed_prefix_lists", "PrefixLists")}
    groups = items(payload, "ec2.describe_security_groups", "SecurityGroups")
    known = {group["GroupId"] for group in groups}
    for group in groups:
        _security_group(out, group, known, prefix_lists)
    transform_links(out, payload)


def _main_route_tables(out: Emitter, payload: Payload, tables: list[dict[str, Any]]) -> None:
    """A subnet without a route table of its own uses its VPC's main table (implicitly)."""
    main = {t.get("VpcId"): t["RouteTableId"] for t in tables
            if any(a.get("Main") for a in t.get("Associations") or [])}
    explicit = {a["SubnetId"] for t in tables for a in t.get("Associations") or [] if a.get("SubnetId")}
    for subnet in items(payload, "ec2.describe_subnets", "Subnets"):
        table_id = main.get(subnet.get("VpcId"))
        if subnet["SubnetId"] not in explicit and table_id is not None:
            out.rel("USES", subnet_ref(subnet["SubnetId"]), ref("route_table", route_table_id=table_id),
                    implicit=True)


def transform_links(out: Emitter, payload: Payload) -> None:
    """VPC peerings and transit gateway attachments: a ``gateway`` CI IN_NETWORK each VPC it joins.

    A peering names a VPC of another account (or region) too: the edge to it is emitted
    by the scan that sees that VPC, so when both accounts are scanned the peering joins
    both VPCs, and neither scan names a VPC it does not see.
    """
    vpcs = {v["VpcId"] for v in items(payload, "ec2.describe_vpcs", "Vpcs")}
    for peering in items(payload, "ec2.describe_vpc_peering_connections", "VpcPeeringConnections"):
        status = (peering.get("Status") or {}).get("Code")
        if status in ("deleted", "rejected", "failed", "expired"):
            continue
        tags = tag_map(peering.get("Tags"))
        pcx_id = peering["VpcPeeringConnectionId"]
        ends = [peering.get("RequesterVpcInfo") or {}, peering.get("AccepterVpcInfo") or {}]
        pcx = out.ci(gateway_ref(pcx_id), name=tags.get("Name", pcx_id), kind="vpc_peering", state=status,
                     peers=sorted(f"{e.get('OwnerId', '')}/{e.get('Region', '')}/{e.get('VpcId', '')}" for e in ends),
                     tags=tags)
        for end in ends:
            if end.get("VpcId") in vpcs:
                out.rel("IN_NETWORK", pcx, vpc_ref(end["VpcId"]))
    for attachment in items(payload, "ec2.describe_transit_gateway_attachments", "TransitGatewayAttachments"):
        if attachment.get("State") in ("deleted", "deleting", "failed", "rejected"):
            continue
        tgw = out.ci(gateway_ref(attachment["TransitGatewayId"]), name=attachment["TransitGatewayId"],
                     kind="transit_gateway")
        if attachment.get("ResourceType") == "vpc" and attachment.get("ResourceId") in vpcs:
            out.rel("IN_NETWORK", tgw, vpc_ref(attachment["ResourceId"]),
                    attachment_id=attachment.get("TransitGatewayAttachmentId"))


def _route_table(out: Emitter, table: dict[str, Any]) -> None:
    tags = tag_map(table.get("Tags"))
    associations = table.get("Associations") or []
    routes = []
    for route in table.get("Routes") or []:
        target = next((route[k] for k in ("GatewayId", "NatGatewayId", "TransitGatewayId", "VpcPeeringConnectionId",
                                          "NetworkInterfaceId", "InstanceId") if route.get(k)), None)
        destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock") \
            or route.get("DestinationPrefixListId")
        routes.append({"destination": destination, "target": target, "state": route.get("State")})
    table_ci = out.ci(ref("route_table", route_table_id=table["RouteTableId"]),
                      name=tags.get("Name", table["RouteTableId"]), routes=routes,
                      is_main=any(a.get("Main") for a in associations), tags=tags)
    if table.get("VpcId"):
        out.rel("IN_NETWORK", table_ci, vpc_ref(table["VpcId"]))
    for association in associations:
        if association.get("SubnetId"):
            out.rel("USES", subnet_ref(association["SubnetId"]), table_ci)
    for route in routes:
        target = route["target"]
        if isinstance(target, str) and target.startswith(("igw-", "nat-")):
            out.rel("USES", table_ci, gateway_ref(target))


def _permission_label(permission: dict[str, Any]) -> str:
    protocol = str(permission.get("IpProtocol", "-1"))
    if protocol == "-1":
        return "all"
    return f"{protocol}/{permission.get('FromPort', '')}-{permission.get('ToPort', '')}"


def _rules(permissions: list[dict[str, Any]], prefix_lists: dict[str, str]) -> list[dict[str, Any]]:
    """Each permission's ports and sources: IPv4 and IPv6 ranges, groups and managed prefix lists
    (by id, with the list's name when this region lists it)."""
    rules = []
    for permission in permissions:
        cidrs = [r["CidrIp"] for r in permission.get("IpRanges") or [] if r.get("CidrIp")]
        cidrs += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges") or [] if r.get("CidrIpv6")]
        lists = [p["PrefixListId"] for p in permission.get("PrefixListIds") or [] if p.get("PrefixListId")]
        rule: dict[str, Any] = {
            "ports": _permission_label(permission),
            "cidrs": sorted(cidrs),
            "groups": sorted(p["GroupId"] for p in permission.get("UserIdGroupPairs") or [] if p.get("GroupId")),
        }
        if lists:
            rule["prefix_lists"] = sorted(f"{i} ({prefix_lists[i]})" if i in prefix_lists else i for i in lists)
        rules.append(rule)
    return rules


def _security_group(out: Emitter, group: dict[str, Any], known: set[str], prefix_lists: dict[str, str]) -> None:
    tags = tag_map(group.get("Tags"))
    ingress = group.get("IpPermissions") or []
    sg_ci = out.ci(sg_ref(group["GroupId"]), name=group.get("GroupName", group["GroupId"]),
                   description=group.get("Description"),
                   rules={"ingress": _rules(ingress, prefix_lists),
                          "egress": _rules(group.get("IpPermissionsEgress") or [], prefix_lists)},
                   tags=tags)
    if group.get("VpcId"):
        out.rel("IN_NETWORK", sg_ci, vpc_ref(group["VpcId"]))
    # One edge per peer group, carrying every port range it is admitted on.
    peers: dict[str, set[str]] = defaultdict(set)
    for permission in ingress:
        for pair in permission.get("UserIdGroupPairs") or []:
            if pair.get("GroupId"):
                peers[pair["GroupId"]].add(_permission_label(permission))
    for peer, ports in sorted(peers.items()):
        if peer in known:
            out.rel("ALLOWS_FROM", sg_ci, sg_ref(peer), ports=sorted(ports))
        else:  # a group in another account or region: not ours to name
            out.stats["unresolved_sg_peer"] += 1
