"""The AWS API calls the scanner makes, declared once.

Every call goes through :class:`discovery.aws.client.AwsCaller`, which refuses an
operation not listed here; the minimum IAM policy in ``docs/aws.md`` is generated
from this list (:func:`discovery.aws.policy.minimum_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Where = Literal["account", "region", "global"]


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One boto3 operation: the client's service name, the method name and its IAM action."""

    service: str
    operation: str
    action: str
    where: Where


def _c(service: str, operation: str, action: str, where: Where) -> ApiCall:
    return ApiCall(service, operation, action, where)


API_CALLS: tuple[ApiCall, ...] = (
    # accounts and regions
    _c("sts", "get_caller_identity", "sts:GetCallerIdentity", "account"),
    _c("sts", "assume_role", "sts:AssumeRole", "account"),
    _c("organizations", "list_accounts", "organizations:ListAccounts", "account"),
    _c("ec2", "describe_regions", "ec2:DescribeRegions", "account"),
    # EC2 and VPC
    _c("ec2", "describe_vpcs", "ec2:DescribeVpcs", "region"),
    _c("ec2", "describe_subnets", "ec2:DescribeSubnets", "region"),
    _c("ec2", "describe_route_tables", "ec2:DescribeRouteTables", "region"),
    _c("ec2", "describe_internet_gateways", "ec2:DescribeInternetGateways", "region"),
    _c("ec2", "describe_nat_gateways", "ec2:DescribeNatGateways", "region"),
    _c("ec2", "describe_security_groups", "ec2:DescribeSecurityGroups", "region"),
    _c("ec2", "describe_instances", "ec2:DescribeInstances", "region"),
    _c("ec2", "describe_network_interfaces", "ec2:DescribeNetworkInterfaces", "region"),
    _c("ec2", "describe_volumes", "ec2:DescribeVolumes", "region"),
    _c("ec2", "describe_managed_prefix_lists", "ec2:DescribeManagedPrefixLists", "region"),
    _c("ec2", "describe_vpc_peering_connections", "ec2:DescribeVpcPeeringConnections", "region"),
    _c("ec2", "describe_transit_gateway_attachments", "ec2:DescribeTransitGatewayAttachments", "region"),
    # load balancing and scaling
    _c("autoscaling", "describe_auto_scaling_groups", "autoscaling:DescribeAutoScalingGroups", "region"),
    _c("elb", "describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers", "region"),
    _c("elbv2", "describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers", "region"),
    _c("elbv2", "describe_listeners", "elasticloadbalancing:DescribeListeners", "region"),
    _c("elbv2", "describe_target_groups", "elasticloadbalancing:DescribeTargetGroups", "region"),
    _c("elbv2", "describe_target_health", "elasticloadbalancing:DescribeTargetHealth", "region"),
    # data, compute and containers
    _c("rds", "describe_db_instances", "rds:DescribeDBInstances", "region"),
    _c("rds", "describe_db_clusters", "rds:DescribeDBClusters", "region"),
    _c("lambda", "list_functions", "lambda:ListFunctions", "region"),
    _c("eks", "list_clusters", "eks:ListClusters", "region"),
    _c("eks", "describe_cluster", "eks:DescribeCluster", "region"),
    _c("eks", "list_nodegroups", "eks:ListNodegroups", "region"),
    _c("eks", "describe_nodegroup", "eks:DescribeNodegroup", "region"),
    _c("ecs", "list_clusters", "ecs:ListClusters", "region"),
    _c("ecs", "describe_clusters", "ecs:DescribeClusters", "region"),
    _c("ecs", "list_services", "ecs:ListServices", "region"),
    _c("ecs", "describe_services", "ecs:DescribeServices", "region"),
    _c("ecs", "list_tasks", "ecs:ListTasks", "region"),
    _c("ecs", "describe_tasks", "ecs:DescribeTasks", "region"),
    _c("dynamodb", "list_tables", "dynamodb:ListTables", "region"),
    _c("dynamodb", "describe_table", "dynamodb:DescribeTable", "region"),
    _c("elasticache", "describe_cache_clusters", "elasticache:DescribeCacheClusters", "region"),
    _c("elasticache", "describe_replication_groups", "elasticache:DescribeReplicationGroups", "region"),
    # global services, swept once per account
    _c("iam", "list_account_aliases", "iam:ListAccountAliases", "global"),
    _c("iam", "list_roles", "iam:ListRoles", "global"),
    _c("s3", "list_buckets", "s3:ListAllMyBuckets", "global"),
    _c("s3", "get_bucket_location", "s3:GetBucketLocation", "global"),
    _c("s3", "get_bucket_versioning", "s3:GetBucketVersioning", "global"),
    _c("route53", "list_hosted_zones", "route53:ListHostedZones", "global"),
    _c("route53", "list_resource_record_sets", "route53:ListResourceRecordSets", "global"),
    _c("route53", "get_hosted_zone", "route53:GetHostedZone", "global"),
)

DECLARED: frozenset[tuple[str, str]] = frozenset((c.service, c.operation) for c in API_CALLS)


def payload_key(service: str, operation: str) -> str:
    """The key under which a call's response pages are kept in a scope payload."""
    return f"{service}.{operation}"
