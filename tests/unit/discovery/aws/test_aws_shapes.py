"""Payload shapes the recorded estate lacks (issue 23 item 6), transformed into exact sets.

The fixtures have the shapes moto's server returns for these calls (checked against a
moto server in tests/integration/aws/test_aws_shapes_live.py, where moto can produce
them); ElastiCache replication groups' member clusters, load balancer and Lambda ENIs
and a Lambda alias registered as a target are shapes moto does not produce, so they
are tested here only, on the shapes of the AWS API reference.
"""

from __future__ import annotations

from typing import Any

from cmdb.observation import Observation, ObservedRelation
from discovery.aws.transform import transform_region
from tests.unit.discovery.aws.test_aws_transform import T0, _sets

ACCOUNT, REGION = "123456789012", "us-east-1"
ALB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188"
NLB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/net/edge/73e2d6bc24d8a067"
TG_NLB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/to-alb/6d0ecf831eec9f09"
TG_IP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/by-ip/1b2c3d4e5f607182"
TG_FN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/fn/9a8b7c6d5e4f3a2b"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:resize"


def region(payload: dict[str, Any]) -> tuple[list[Any], set[tuple[str, str]], set[tuple[str, str, str]]]:
    items, _ = transform_region(payload, ACCOUNT, REGION, T0)
    cis, rels = _sets(items)
    return items, cis, rels


def attrs(items: list[Any], ci_class: str, key: str, value: str) -> dict[str, Any]:
    [found] = [i for i in items if isinstance(i, Observation) and i.ci_class == ci_class
               and i.identifiers.get(key) == value]
    return dict(found.attributes)


def test_security_group_rules_keep_ipv6_ranges_and_managed_prefix_lists() -> None:
    items, _, _ = region({
        "ec2.describe_managed_prefix_lists": [{"PrefixLists": [
            {"PrefixListId": "pl-0123", "PrefixListName": "corp-offices", "AddressFamily": "IPv4"}]}],
        "ec2.describe_security_groups": [{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "edge", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [], "IpRanges": [
                {"CidrIp": "192.0.2.0/24"}], "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
             "PrefixListIds": [{"PrefixListId": "pl-0123"}, {"PrefixListId": "pl-elsewhere"}]}],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                                     "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}]}],
    })
    assert attrs(items, "security_group", "group_id", "sg-1")["rules"] == {
        "ingress": [{"ports": "tcp/443-443", "cidrs": ["192.0.2.0/24", "2001:db8::/32"], "groups": [],
                     "prefix_lists": ["pl-0123 (corp-offices)", "pl-elsewhere"]}],
        "egress": [{"ports": "all", "cidrs": ["0.0.0.0/0", "::/0"], "groups": []}],
    }


def test_subnets_without_a_table_of_their_own_use_the_main_route_table() -> None:
    _, _, rels = region({
        "ec2.describe_subnets": [{"Subnets": [{"SubnetId": "subnet-a", "VpcId": "vpc-1"},
                                              {"SubnetId": "subnet-b", "VpcId": "vpc-1"},
                                              {"SubnetId": "subnet-c", "VpcId": "vpc-2"}]}],
        "ec2.describe_route_tables": [{"RouteTables": [
            {"RouteTableId": "rtb-main", "VpcId": "vpc-1", "Associations": [
                {"Main": True, "RouteTableAssociationId": "rtbassoc-1"}]},
            {"RouteTableId": "rtb-public", "VpcId": "vpc-1", "Associations": [
                {"Main": False, "SubnetId": "subnet-a"}]}]}],
    })
    # vpc-2's main table was not listed: subnet-c names no table
    assert {r for r in rels if r[0] == "USES"} == {("USES", "subnet-a", "rtb-public"), ("USES", "subnet-b", "rtb-main")}


def test_target_groups_of_type_ip_alb_and_lambda_aliases() -> None:
    _, _, rels = region({
        "ec2.describe_instances": [{"Reservations": [{"Instances": [
            {"InstanceId": "i-1", "State": {"Name": "running"}, "PrivateIpAddress": "10.0.1.5"}]}]}],
        "ec2.describe_network_interfaces": [{"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-task", "PrivateIpAddress": "10.0.1.20", "PrivateIpAddresses": [
                {"PrivateIpAddress": "10.0.1.20", "Primary": True},
                {"PrivateIpAddress": "10.0.1.21", "Primary": False}]}]}],
        "elbv2.describe_load_balancers": [{"LoadBalancers": [
            {"LoadBalancerArn": ALB, "LoadBalancerName": "web", "Type": "application"},
            {"LoadBalancerArn": NLB, "LoadBalancerName": "edge", "Type": "network"}]}],
        "elbv2.describe_target_groups": [{"TargetGroups": [
            {"TargetGroupArn": TG_NLB, "TargetGroupName": "to-alb", "TargetType": "alb", "LoadBalancerArns": [NLB]},
            {"TargetGroupArn": TG_IP, "TargetGroupName": "by-ip", "TargetType": "ip"},
            {"TargetGroupArn": TG_FN, "TargetGroupName": "fn", "TargetType": "lambda"}]}],
        "elbv2.describe_target_health": [
            {"_request": {"TargetGroupArn": TG_NLB}, "TargetHealthDescriptions": [{"Target": {"Id": ALB, "Port": 80}}]},
            {"_request": {"TargetGroupArn": TG_IP}, "TargetHealthDescriptions": [
                {"Target": {"Id": "10.0.1.5", "Port": 8080}}, {"Target": {"Id": "10.0.1.21", "Port": 8080}},
                {"Target": {"Id": "172.31.9.9", "Port": 8080, "AvailabilityZone": "all"}}]},
            {"_request": {"TargetGroupArn": TG_FN}, "TargetHealthDescriptions": [{"Target": {"Id": f"{FN}:live"}}]}],
        "lambda.list_functions": [{"Functions": [{"FunctionArn": FN, "FunctionName": "resize"}]}],
    })
    assert {r for r in rels if r[0] == "ROUTES_TO"} == {
        ("ROUTES_TO", NLB, TG_NLB), ("ROUTES_TO", TG_NLB, ALB),  # NLB -> target group -> ALB
        ("ROUTES_TO", TG_IP, "i-1"), ("ROUTES_TO", TG_IP, "eni-task"),  # by the address they hold
        ("ROUTES_TO", TG_FN, FN),  # the alias "live" of the function, on the edge
    }  # 172.31.9.9 (outside the VPC, held by nothing seen) names no CI


def test_aurora_cluster_is_a_redundancy_group_over_its_writer_and_readers() -> None:
    db = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:"
    cluster = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders"
    items, _, rels = region({
        "rds.describe_db_instances": [{"DBInstances": [
            {"DBInstanceIdentifier": n, "DBInstanceArn": db + n, "Engine": "aurora-postgresql",
             "DBClusterIdentifier": "orders"} for n in ("orders-1", "orders-2", "orders-3")]}],
        "rds.describe_db_clusters": [{"DBClusters": [{
            "DBClusterIdentifier": "orders", "DBClusterArn": cluster, "Engine": "aurora-postgresql",
            "Endpoint": "orders.cluster-x.us-east-1.rds.amazonaws.com", "DBClusterMembers": [
                {"DBInstanceIdentifier": "orders-1", "IsClusterWriter": True},
                {"DBInstanceIdentifier": "orders-2", "IsClusterWriter": False},
                {"DBInstanceIdentifier": "orders-3", "IsClusterWriter": False}]}]}],
    })
    members = {(i.to_ci.identifiers["db_id"], i.attributes["role"]) for i in items
               if isinstance(i, ObservedRelation) and i.type == "HAS_MEMBER"}
    assert members == {(db + "orders-1", "writer"), (db + "orders-2", "reader"), (db + "orders-3", "reader")}
    assert {k: v for k, v in attrs(items, "cluster", "cluster_id", cluster).items()
            if k in ("kind", "min_up", "desired")} == {"kind": "aurora", "min_up": "1", "desired": 3}
    assert ("CONTAINS", f"{ACCOUNT}/{REGION}", cluster) in rels


def test_elasticache_replication_group_is_a_redundancy_group_over_its_nodes() -> None:
    arn = f"arn:aws:elasticache:{REGION}:{ACCOUNT}:"
    _, _, rels = region({
        "elasticache.describe_cache_clusters": [{"CacheClusters": [
            {"CacheClusterId": n, "ARN": f"{arn}cluster:{n}", "ReplicationGroupId": "sessions"}
            for n in ("sessions-001", "sessions-002")]}],
        "elasticache.describe_replication_groups": [{"ReplicationGroups": [
            {"ReplicationGroupId": "sessions", "ARN": f"{arn}replicationgroup:sessions",
             "MemberClusters": ["sessions-001", "sessions-002", "sessions-003"]}]}],  # 003 not listed: no edge
    })
    assert {r for r in rels if r[0] == "HAS_MEMBER"} == {
        ("HAS_MEMBER", f"{arn}replicationgroup:sessions", f"{arn}cluster:sessions-001"),
        ("HAS_MEMBER", f"{arn}replicationgroup:sessions", f"{arn}cluster:sessions-002")}


def test_network_interfaces_are_linked_to_the_service_that_owns_them_with_all_their_addresses() -> None:
    classic = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/legacy"
    items, _, rels = region({
        "ec2.describe_network_interfaces": [{"NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-alb", "Description": "ELB app/web/50dc6c495c0c9188",
             "InterfaceType": "interface", "RequesterId": "amazon-elb", "PrivateIpAddress": "10.0.1.30",
             "Association": {"PublicIp": "198.51.100.7"}, "PrivateIpAddresses": [
                 {"PrivateIpAddress": "10.0.1.30", "Primary": True, "Association": {"PublicIp": "198.51.100.7"}},
                 {"PrivateIpAddress": "10.0.1.31", "Primary": False},
                 {"PrivateIpAddress": "10.0.1.32", "Primary": False, "Association": {"PublicIp": "198.51.100.8"}}]},
            {"NetworkInterfaceId": "eni-classic", "Description": "ELB legacy", "RequesterId": "amazon-elb"},
            {"NetworkInterfaceId": "eni-nat", "Description": "Interface for NAT Gateway nat-1",
             "InterfaceType": "nat_gateway"},
            {"NetworkInterfaceId": "eni-fn", "Description": "AWS Lambda VPC ENI-resize-0f1e2d3c-4b5a",
             "InterfaceType": "lambda"},
            {"NetworkInterfaceId": "eni-other", "Description": "ELB app/elsewhere/1"}]}],
        "elbv2.describe_load_balancers": [{"LoadBalancers": [{"LoadBalancerArn": ALB, "LoadBalancerName": "web"}]}],
        "elb.describe_load_balancers": [{"LoadBalancerDescriptions": [{"LoadBalancerName": "legacy"}]}],
        "ec2.describe_nat_gateways": [{"NatGateways": [{"NatGatewayId": "nat-1", "State": "available",
                                                         "NatGatewayAddresses": [{"NetworkInterfaceId": "eni-nat"}]}]}],
        "lambda.list_functions": [{"Functions": [{"FunctionArn": FN, "FunctionName": "resize"}]}],
    })
    assert {r for r in rels if r[0] == "USES"} == {
        ("USES", ALB, "eni-alb"), ("USES", classic, "eni-classic"), ("USES", "nat-1", "eni-nat"),
        ("USES", FN, "eni-fn")}
    eni = attrs(items, "cloud_interface", "interface_id", "eni-alb")
    assert (eni["private_ip"], eni["secondary_ips"], eni["public_ips"]) == (
        "10.0.1.30", ["10.0.1.31", "10.0.1.32"], ["198.51.100.7", "198.51.100.8"])


def test_vpc_peerings_and_transit_gateways_join_the_vpcs_each_account_sees() -> None:
    peering = {"VpcPeeringConnectionId": "pcx-1", "Status": {"Code": "active"},
               "RequesterVpcInfo": {"VpcId": "vpc-a", "OwnerId": "111111111111", "Region": REGION},
               "AccepterVpcInfo": {"VpcId": "vpc-b", "OwnerId": "222222222222", "Region": REGION}}
    tgw = {"TransitGatewayAttachments": [
        {"TransitGatewayAttachmentId": "tgw-attach-1", "TransitGatewayId": "tgw-1", "ResourceType": "vpc",
         "ResourceId": "vpc-a", "State": "available"},
        {"TransitGatewayAttachmentId": "tgw-attach-2", "TransitGatewayId": "tgw-1", "ResourceType": "vpn",
         "ResourceId": "vpn-1", "State": "available"}]}
    side_a: dict[str, Any] = {"ec2.describe_vpcs": [{"Vpcs": [{"VpcId": "vpc-a"}]}],
                              "ec2.describe_vpc_peering_connections": [{"VpcPeeringConnections": [peering]}],
                              "ec2.describe_transit_gateway_attachments": [tgw]}
    side_b: dict[str, Any] = {"ec2.describe_vpcs": [{"Vpcs": [{"VpcId": "vpc-b"}]}],
                              "ec2.describe_vpc_peering_connections": [{"VpcPeeringConnections": [peering]}]}
    _, _, rels_a = region(side_a)
    _, _, rels_b = region(side_b)
    links = {r for r in rels_a | rels_b if r[0] == "IN_NETWORK" and r[1].startswith(("pcx-", "tgw-"))}
    # Each account names only its own VPC; scanned together, the peering joins both.
    assert links == {("IN_NETWORK", "pcx-1", "vpc-a"), ("IN_NETWORK", "pcx-1", "vpc-b"),
                     ("IN_NETWORK", "tgw-1", "vpc-a")}
