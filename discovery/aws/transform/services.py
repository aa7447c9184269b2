"""RDS, Lambda, EKS (with node groups), ECS (clusters and services), DynamoDB and ElastiCache."""

from __future__ import annotations

from typing import Any

from cmdb.observation import CIRef
from discovery.aws.transform.balancing import target_group_ref
from discovery.aws.transform.compute import placement
from discovery.aws.transform.emit import Emitter, ref, tag_map
from discovery.aws.transform.payload import Payload, items, pages


def role_ref(out: Emitter, role_arn: str) -> CIRef:
    """The role a resource uses, observed here too so the edge never points at nothing.

    The account's global scope observes the same role with its full attributes.
    """
    return out.ci(ref("iam_role", role_arn=role_arn), name=role_arn.rsplit("/", 1)[-1])


def _min_up(minimum: Any) -> str:
    return str(max(1, int(minimum or 0)))


def transform_services(out: Emitter, payload: Payload, region: CIRef) -> None:
    """Databases, functions, container clusters and caches, with their placement and roles."""
    for db in items(payload, "rds.describe_db_instances", "DBInstances"):
        endpoint = db.get("Endpoint") or {}
        db_ci = out.ci(
            ref("database", db_id=db["DBInstanceArn"]), name=db["DBInstanceIdentifier"], engine=db.get("Engine"),
            engine_version=db.get("EngineVersion"), endpoint=endpoint.get("Address"), port=endpoint.get("Port"),
            instance_class=db.get("DBInstanceClass"), multi_az=bool(db.get("MultiAZ", False)),
            tags=tag_map(db.get("TagList")),
        )
        subnets = [s["SubnetIdentifier"] for s in (db.get("DBSubnetGroup") or {}).get("Subnets") or []]
        placement(out, db_ci, subnets, [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups") or []])
        if not subnets:
            out.rel("CONTAINS", region, db_ci)

    _aurora(out, payload, region)

    for fn in items(payload, "lambda.list_functions", "Functions"):
        fn_ci = out.ci(ref("function", function_arn=fn["FunctionArn"]), name=fn["FunctionName"],
                       runtime=fn.get("Runtime"), handler=fn.get("Handler"), memory_mb=fn.get("MemorySize"))
        vpc = fn.get("VpcConfig") or {}
        subnets = list(vpc.get("SubnetIds") or [])
        placement(out, fn_ci, subnets, list(vpc.get("SecurityGroupIds") or []))
        if not subnets:
            out.rel("CONTAINS", region, fn_ci)
        if fn.get("Role"):
            out.rel("USES", fn_ci, role_ref(out, fn["Role"]))

    asg_by_name = {g["AutoScalingGroupName"]: g["AutoScalingGroupARN"]
                   for g in items(payload, "autoscaling.describe_auto_scaling_groups", "AutoScalingGroups")}
    clusters = {page["cluster"]["name"]: page["cluster"]
                for page in pages(payload, "eks.describe_cluster") if page.get("cluster")}
    for eks in clusters.values():
        vpc = eks.get("resourcesVpcConfig") or {}
        eks_ci = out.ci(ref("cluster", cluster_id=eks["arn"]), name=eks["name"], kind="eks",
                        version=eks.get("version"), tags=eks.get("tags") or None)
        groups = list(vpc.get("securityGroupIds") or [])
        placement(out, eks_ci, list(vpc.get("subnetIds") or []), groups)
        if eks.get("roleArn"):
            out.rel("USES", eks_ci, role_ref(out, eks["roleArn"]))
    for page in pages(payload, "eks.describe_nodegroup"):
        group = page.get("nodegroup")
        if not group or group.get("clusterName") not in clusters:
            continue
        scaling = group.get("scalingConfig") or {}
        group_ci = out.ci(ref("cluster", cluster_id=group["nodegroupArn"]), name=group["nodegroupName"],
                          kind="eks_nodegroup", version=group.get("version"), desired=scaling.get("desiredSize"),
                          min_up=_min_up(scaling.get("minSize")), tags=group.get("tags") or None)
        out.rel("HAS_MEMBER", ref("cluster", cluster_id=clusters[group["clusterName"]]["arn"]), group_ci)
        placement(out, group_ci, list(group.get("subnets") or []), [])
        for asg in (group.get("resources") or {}).get("autoScalingGroups") or []:
            if asg.get("name") in asg_by_name:
                out.rel("HAS_MEMBER", group_ci, ref("cluster", cluster_id=asg_by_name[asg["name"]]))
        if group.get("nodeRole"):
            out.rel("USES", group_ci, role_ref(out, group["nodeRole"]))

    _containers(out, payload, region)

    for table_page in pages(payload, "dynamodb.describe_table"):
        table = table_page.get("Table")
        if table:
            table_ci = out.ci(ref("database", db_id=table["TableArn"]), name=table["TableName"], engine="dynamodb")
            out.rel("CONTAINS", region, table_ci)

    caches: dict[str, CIRef] = {}
    for cache in items(payload, "elasticache.describe_cache_clusters", "CacheClusters"):
        cache_ci = out.ci(ref("cluster", cluster_id=cache["ARN"]), name=cache["CacheClusterId"], kind="elasticache",
                          version=cache.get("EngineVersion"), desired=cache.get("NumCacheNodes"), min_up="1")
        caches[cache["CacheClusterId"]] = cache_ci
        out.rel("CONTAINS", region, cache_ci)
        placement(out, cache_ci, [], [g["SecurityGroupId"] for g in cache.get("SecurityGroups") or []])
    for group in items(payload, "elasticache.describe_replication_groups", "ReplicationGroups"):
        # A replication group is the redundancy over its node clusters: up while one node is.
        group_ci = out.ci(ref("cluster", cluster_id=group["ARN"]), name=group["ReplicationGroupId"],
                          kind="elasticache_replication_group", desired=len(group.get("MemberClusters") or []),
                          min_up="1", description=group.get("Description"))
        out.rel("CONTAINS", region, group_ci)
        for member in group.get("MemberClusters") or []:
            if member in caches:
                out.rel("HAS_MEMBER", group_ci, caches[member])


def _aurora(out: Emitter, payload: Payload, region: CIRef) -> None:
    """An Aurora (or Multi-AZ DB) cluster: a redundancy group over its writer and readers."""
    instances = {db["DBInstanceIdentifier"]: db["DBInstanceArn"]
                 for db in items(payload, "rds.describe_db_instances", "DBInstances")}
    for cluster in items(payload, "rds.describe_db_clusters", "DBClusters"):
        members = cluster.get("DBClusterMembers") or []
        cluster_ci = out.ci(ref("cluster", cluster_id=cluster["DBClusterArn"]), name=cluster["DBClusterIdentifier"],
                            kind="aurora" if str(cluster.get("Engine", "")).startswith("aurora") else "db_cluster",
                            version=cluster.get("EngineVersion"), desired=len(members), min_up="1",
                            endpoint=cluster.get("Endpoint"), reader_endpoint=cluster.get("ReaderEndpoint"))
        out.rel("CONTAINS", region, cluster_ci)
        for member in members:
            arn = instances.get(member.get("DBInstanceIdentifier", ""))
            if arn is not None:
                out.rel("HAS_MEMBER", cluster_ci, ref("database", db_id=arn),
                        role="writer" if member.get("IsClusterWriter") else "reader")


def _containers(out: Emitter, payload: Payload, region: CIRef) -> None:
    known_groups = {g["TargetGroupArn"] for g in items(payload, "elbv2.describe_target_groups", "TargetGroups")}
    for cluster in items(payload, "ecs.describe_clusters", "clusters"):
        cluster_ci = out.ci(ref("cluster", cluster_id=cluster["clusterArn"]), name=cluster["clusterName"],
                            kind="ecs", tags=tag_map(cluster.get("tags")))
        out.rel("CONTAINS", region, cluster_ci)
    for service in items(payload, "ecs.describe_services", "services"):
        if service.get("status") == "INACTIVE":
            continue
        service_ci = out.ci(ref("container_service", service_arn=service["serviceArn"]),
                            name=service["serviceName"], desired_count=service.get("desiredCount"),
                            launch_type=service.get("launchType"), tags=tag_map(service.get("tags")))
        out.rel("RUNS_ON", service_ci, ref("cluster", cluster_id=service["clusterArn"]))
        network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        placement(out, service_ci, list(network.get("subnets") or []), list(network.get("securityGroups") or []))
        for lb in service.get("loadBalancers") or []:
            if lb.get("targetGroupArn") in known_groups:
                out.rel("ROUTES_TO", target_group_ref(lb["targetGroupArn"]), service_ci)
