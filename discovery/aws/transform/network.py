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

    for table in items(payload, "ec2.describe_route_tables", "RouteTables"):
        _route_table(out, table)

    groups = items(payload, "ec2.describe_security_groups", "SecurityGroups")
    known = {group["GroupId"] for group in groups}
    for group in groups:
        _security_group(out, group, known)


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


def _rules(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = []
    for permission in permissions:
        rules.append({
            "ports": _permission_label(permission),
            "cidrs": sorted(r["CidrIp"] for r in permission.get("IpRanges") or [] if r.get("CidrIp")),
            "groups": sorted(p["GroupId"] for p in permission.get("UserIdGroupPairs") or [] if p.get("GroupId")),
        })
    return rules


def _security_group(out: Emitter, group: dict[str, Any], known: set[str]) -> None:
    tags = tag_map(group.get("Tags"))
    ingress = group.get("IpPermissions") or []
    sg_ci = out.ci(sg_ref(group["GroupId"]), name=group.get("GroupName", group["GroupId"]),
                   description=group.get("Description"),
                   rules={"ingress": _rules(ingress), "egress": _rules(group.get("IpPermissionsEgress") or [])},
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
