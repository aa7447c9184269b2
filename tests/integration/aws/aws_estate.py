"""Builds a known AWS estate in moto and says exactly which CIs and edges discovery must find.

CIs are ``(class, key)`` and edges ``(type, from key, to key)``, where a key is the
CI's AWS id (dependent CIs: ``<parent key>/<own id>``), as ``store_view`` renders
the store.
"""

from __future__ import annotations

import io
import urllib.request
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = ("111111111111", "222222222222")


@dataclass
class Expected:
    cis: set[tuple[str, str]] = field(default_factory=set)
    rels: set[tuple[str, str, str]] = field(default_factory=set)
    # Handles the tests use to change the estate later.
    handles: dict[str, Any] = field(default_factory=dict)

    def ci(self, cls: str, key: str) -> str:
        self.cis.add((cls, key))
        return key

    def rel(self, rel_type: str, source: str, target: str) -> None:
        self.rels.add((rel_type, source, target))

    def merge(self, other: Expected) -> Expected:
        self.cis |= other.cis
        self.rels |= other.rels
        return self

    def without(self, keys: set[str]) -> Expected:
        """A copy without the CIs keyed ``keys`` and every edge touching them."""
        return Expected({c for c in self.cis if c[1] not in keys},
                        {r for r in self.rels if r[1] not in keys and r[2] not in keys}, self.handles)


def _post(url: str, body: bytes = b"") -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def reset_moto(endpoint: str) -> None:
    """Clear every account's state; Lambda must not try docker (set before any function exists)."""
    _post(f"{endpoint}/moto-api/reset")
    _post(f"{endpoint}/moto-api/config", b'{"lambda": {"use_docker": false}}')


def account_session(endpoint: str, account_id: str) -> boto3.Session:
    """Credentials acting as ``account_id`` (moto: those of an assumed role in it)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/builder", RoleSessionName="builder")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _drop_default_vpc(ec2: Any) -> None:
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        vpc_id = vpc["VpcId"]
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        for igw in ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
            ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        ec2.delete_vpc(VpcId=vpc_id)


def build_account(endpoint: str, account_id: str, regions: tuple[str, ...] = REGIONS) -> Expected:
    """Every resource type the scanner knows, in each region, plus the account's global services."""
    session = account_session(endpoint, account_id)
    exp = Expected()
    exp.ci("cloud_account", account_id)
    iam = session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    trust = '{"Version":"2012-10-17","Statement":[]}'
    fn_role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=trust, Path="/svc/")["Role"]["Arn"]
    eks_role = iam.create_role(RoleName="eks-role", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    for arn in (fn_role, eks_role):
        exp.rel("CONTAINS", account_id, exp.ci("iam_role", arn))
    # moto keeps the role it assumed to build this estate: it is part of the account.
    builder = f"arn:aws:iam::{account_id}:role/builder"
    if any(r["Arn"] == builder for r in iam.list_roles()["Roles"]):
        exp.rel("CONTAINS", account_id, exp.ci("iam_role", builder))
    zone_targets: list[tuple[str, str, str, str]] = []  # (record name, type, value, resolved CI key)
    for region in regions:
        zone_targets.extend(_build_region(session, endpoint, account_id, region, exp, fn_role, eks_role))
    _build_global(session, endpoint, account_id, exp, zone_targets)
    return exp


def _build_region(session: boto3.Session, endpoint: str, account_id: str, region: str, exp: Expected,
                  fn_role: str, eks_role: str) -> list[tuple[str, str, str, str]]:
    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint, region_name=region)

    ec2 = client("ec2")
    _drop_default_vpc(ec2)
    region_key = exp.ci("cloud_region", f"{account_id}/{region}")
    exp.rel("CONTAINS", account_id, region_key)
    h: dict[str, Any] = {}
    exp.handles[region] = h
    h["region_key"] = region_key

    # Distinct address space per region: DNS records resolve addresses to instances.
    net = REGIONS.index(region) if region in REGIONS else len(REGIONS)
    vpc = ec2.create_vpc(CidrBlock=f"10.{net}.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "main"}])
    exp.rel("CONTAINS", region_key, exp.ci("vpc", vpc))
    azs = [f"{region}a", f"{region}b"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{net}.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
               for i, az in enumerate(azs)]
    for subnet in subnets:
        exp.rel("IN_NETWORK", exp.ci("subnet", subnet), vpc)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    exp.rel("IN_NETWORK", exp.ci("gateway", igw), vpc)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    exp.rel("IN_NETWORK", exp.ci("gateway", nat), subnets[0])
    nat_eni = ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["NatGatewayAddresses"][0]
    for eni in ec2.describe_network_interfaces(
            NetworkInterfaceIds=[nat_eni["NetworkInterfaceId"]])["NetworkInterfaces"]:  # the NAT's own ENI
        exp.ci("cloud_interface", eni["NetworkInterfaceId"])
        exp.rel("USES", nat, eni["NetworkInterfaceId"])  # the gateway owns it
        exp.rel("IN_NETWORK", eni["NetworkInterfaceId"], eni["SubnetId"])
        for group in eni.get("Groups") or []:
            exp.rel("MEMBER_OF", eni["NetworkInterfaceId"], group["GroupId"])
    for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]:
        exp.rel("IN_NETWORK", exp.ci("route_table", table["RouteTableId"]), vpc)  # the main table
    public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public, SubnetId=subnets[0])
    private = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.associate_route_table(RouteTableId=private, SubnetId=subnets[1])
    for table, subnet, gateway in ((public, subnets[0], igw), (private, subnets[1], nat)):
        exp.rel("IN_NETWORK", exp.ci("route_table", table), vpc)
        exp.rel("USES", subnet, table)
        exp.rel("USES", table, gateway)

    for group in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]:
        exp.rel("IN_NETWORK", exp.ci("security_group", group["GroupId"]), vpc)  # the VPC's default group
    web = ec2.create_security_group(GroupName="web", Description="web tier", VpcId=vpc)["GroupId"]
    app = ec2.create_security_group(GroupName="app", Description="app tier", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": web}]}])
    for group in (web, app):
        exp.rel("IN_NETWORK", exp.ci("security_group", group), vpc)
    exp.rel("ALLOWS_FROM", app, web)

    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    reservation = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=3, MaxCount=3,
                                    SubnetId=subnets[0], SecurityGroupIds=[web],
                                    TagSpecifications=[{"ResourceType": "instance",
                                                        "Tags": [{"Key": "Name", "Value": "web"}]}])
    instances = [i["InstanceId"] for i in reservation["Instances"]]
    h["instances"] = instances
    h["ips"] = {i["InstanceId"]: i["PrivateIpAddress"] for i in reservation["Instances"]}

    volume = ec2.create_volume(AvailabilityZone=azs[0], Size=20, VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instances[0], Device="/dev/sdf")
    exp.rel("CONTAINS", region_key, exp.ci("volume", volume))
    exp.rel("ATTACHED_TO", volume, instances[0])

    autoscaling = client("autoscaling")
    autoscaling.create_launch_configuration(LaunchConfigurationName="workers", ImageId=image,
                                            InstanceType="t3.small")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="workers", LaunchConfigurationName="workers",
                                          MinSize=2, MaxSize=4, DesiredCapacity=2, VPCZoneIdentifier=subnets[1])
    asg = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["workers"])["AutoScalingGroups"][0]
    exp.ci("cluster", asg["AutoScalingGroupARN"])
    exp.rel("IN_NETWORK", asg["AutoScalingGroupARN"], subnets[1])
    workers = [i["InstanceId"] for i in asg["Instances"]]
    for worker in workers:
        exp.rel("HAS_MEMBER", asg["AutoScalingGroupARN"], worker)
    h["asg"] = asg["AutoScalingGroupARN"]

    expect_instances(exp, ec2, instances + workers, region_key)

    elb = client("elb")
    # moto's DNS names (classic ELB: <name>.us-east-1.elb.amazonaws.com whatever the region; ALB and RDS:
    # the same in every account) would identify different resources as one: one name per account+region.
    unique = f"{account_id[:1]}{net}"
    legacy_name = f"legacy-{unique}"
    elb.create_load_balancer(LoadBalancerName=legacy_name, Subnets=[subnets[0]], SecurityGroups=[web],
                             Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}])
    elb.register_instances_with_load_balancer(LoadBalancerName=legacy_name,
                                              Instances=[{"InstanceId": instances[2]}])
    legacy = f"arn:aws:elasticloadbalancing:{region}:{account_id}:loadbalancer/{legacy_name}"
    legacy_dns = elb.describe_load_balancers()["LoadBalancerDescriptions"][0]["DNSName"]
    exp.ci("load_balancer", legacy)
    exp.rel("IN_NETWORK", legacy, subnets[0])
    exp.rel("MEMBER_OF", legacy, web)
    exp.rel("HAS_MEMBER", legacy, instances[2])

    elbv2 = client("elbv2")
    alb = elbv2.create_load_balancer(Name=f"front-{unique}", Subnets=subnets, SecurityGroups=[web],
                                     Type="application")["LoadBalancers"][0]
    web_tg = elbv2.create_target_group(Name="web", Protocol="HTTP", Port=8080, VpcId=vpc,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    api_tg = elbv2.create_target_group(Name="api", Protocol="HTTP", Port=80, VpcId=vpc,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    spare_tg = elbv2.create_target_group(Name="spare", Protocol="HTTP", Port=80, VpcId=vpc,
                                         TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    exp.ci("cluster", spare_tg)
    elbv2.register_targets(TargetGroupArn=web_tg, Targets=[{"Id": instances[0]}, {"Id": instances[1]}])
    elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": web_tg}])
    elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=8000,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": api_tg}])
    exp.ci("load_balancer", alb["LoadBalancerArn"])
    for subnet in subnets:
        exp.rel("IN_NETWORK", alb["LoadBalancerArn"], subnet)
    exp.rel("MEMBER_OF", alb["LoadBalancerArn"], web)
    for tg in (web_tg, api_tg):
        exp.ci("cluster", tg)
        exp.rel("ROUTES_TO", alb["LoadBalancerArn"], tg)
    for instance in instances[:2]:
        exp.rel("ROUTES_TO", web_tg, instance)
    h.update(alb=alb["LoadBalancerArn"], web_tg=web_tg, spare_tg=spare_tg, subnets=subnets, web_sg=web, image=image, api_tg=api_tg, alb_dns=alb["DNSName"], legacy_dns=legacy_dns)

    rds = client("rds")
    rds.create_db_subnet_group(DBSubnetGroupName="db", DBSubnetGroupDescription="db", SubnetIds=subnets)
    db = rds.create_db_instance(DBInstanceIdentifier=f"orders-{unique}", DBInstanceClass="db.t3.micro", Engine="postgres",
                                DBSubnetGroupName="db", VpcSecurityGroupIds=[app], MasterUsername="admin",
                                MasterUserPassword="password1234", AllocatedStorage=20)["DBInstance"]
    exp.ci("database", db["DBInstanceArn"])
    for subnet in subnets:
        exp.rel("IN_NETWORK", db["DBInstanceArn"], subnet)
    exp.rel("MEMBER_OF", db["DBInstanceArn"], app)

    fn = client("lambda").create_function(
        FunctionName="resize", Runtime="python3.11", Role=fn_role, Handler="handler.handler",
        Code={"ZipFile": _zip()}, VpcConfig={"SubnetIds": [subnets[1]], "SecurityGroupIds": [app]})["FunctionArn"]
    exp.ci("function", fn)
    exp.rel("USES", fn, fn_role)
    exp.rel("IN_NETWORK", fn, subnets[1])
    exp.rel("MEMBER_OF", fn, app)

    eks = client("eks")
    cluster = eks.create_cluster(name="k8s", roleArn=eks_role,
                                 resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": [app]})["cluster"]
    nodegroup = eks.create_nodegroup(clusterName="k8s", nodegroupName="ng1", nodeRole=eks_role, subnets=subnets,
                                     scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2})["nodegroup"]
    exp.ci("cluster", cluster["arn"])
    exp.ci("cluster", nodegroup["nodegroupArn"])
    exp.rel("HAS_MEMBER", cluster["arn"], nodegroup["nodegroupArn"])
    exp.rel("USES", cluster["arn"], eks_role)
    exp.rel("USES", nodegroup["nodegroupArn"], eks_role)
    exp.rel("MEMBER_OF", cluster["arn"], app)
    for subnet in subnets:
        exp.rel("IN_NETWORK", cluster["arn"], subnet)
        exp.rel("IN_NETWORK", nodegroup["nodegroupArn"], subnet)

    ecs = client("ecs")
    ecs_cluster = ecs.create_cluster(clusterName="apps")["cluster"]["clusterArn"]
    ecs.register_task_definition(family="api", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512",
                                 containerDefinitions=[{"name": "api", "image": "api:1", "memory": 512,
                                                        "portMappings": [{"containerPort": 80}]}])
    service = ecs.create_service(
        cluster="apps", serviceName="api", taskDefinition="api", desiredCount=2, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnets[1]], "securityGroups": [app]}},
        loadBalancers=[{"targetGroupArn": api_tg, "containerName": "api", "containerPort": 80}],
    )["service"]["serviceArn"]
    exp.ci("cluster", ecs_cluster)
    exp.rel("CONTAINS", region_key, ecs_cluster)
    exp.ci("container_service", service)
    exp.rel("RUNS_ON", service, ecs_cluster)
    exp.rel("IN_NETWORK", service, subnets[1])
    exp.rel("MEMBER_OF", service, app)
    exp.rel("ROUTES_TO", api_tg, service)

    table = client("dynamodb").create_table(
        TableName="sessions", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    exp.rel("CONTAINS", region_key, exp.ci("database", table))

    cache = client("elasticache").create_cache_cluster(
        CacheClusterId="cache", Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1,
        SecurityGroupIds=[app])["CacheCluster"]["ARN"]
    exp.rel("CONTAINS", region_key, exp.ci("cluster", cache))
    # moto's describe_cache_clusters returns no SecurityGroups: no MEMBER_OF edge to expect.

    # What this region's DNS records will point at (record name, type, value, resolved CI key).
    short = region.replace("-", "")
    return [
        (f"web.{short}.", "A", h["ips"][instances[0]], instances[0]),
        (f"front.{short}.", "A", h["alb_dns"], alb["LoadBalancerArn"]),
        (f"legacy.{short}.", "CNAME", legacy_dns, legacy),
    ]


def expect_instances(exp: Expected, ec2: Any, instance_ids: list[str], region_key: str) -> None:
    """Each live instance: in its subnet and groups, with its root volume and primary ENI attached."""
    for reservation in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]:
        for inst in reservation["Instances"]:
            exp.ci("cloud_instance", inst["InstanceId"])
            exp.rel("IN_NETWORK", inst["InstanceId"], inst["SubnetId"])
            for group in inst.get("SecurityGroups") or []:
                exp.rel("MEMBER_OF", inst["InstanceId"], group["GroupId"])
            for mapping in inst.get("BlockDeviceMappings") or []:
                root = mapping["Ebs"]["VolumeId"]
                exp.rel("CONTAINS", region_key, exp.ci("volume", root))
                exp.rel("ATTACHED_TO", root, inst["InstanceId"])
            for eni in inst["NetworkInterfaces"]:
                exp.ci("cloud_interface", eni["NetworkInterfaceId"])
                exp.rel("ATTACHED_TO", eni["NetworkInterfaceId"], inst["InstanceId"])
                exp.rel("IN_NETWORK", eni["NetworkInterfaceId"], eni["SubnetId"])
                for group in eni.get("Groups") or []:
                    exp.rel("MEMBER_OF", eni["NetworkInterfaceId"], group["GroupId"])


def _build_global(session: boto3.Session, endpoint: str, account_id: str, exp: Expected,
                  targets: list[tuple[str, str, str, str]]) -> None:
    s3 = session.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for name, location in ((f"assets-{account_id}", None), (f"logs-{account_id}", "eu-west-1")):
        if location:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": location})
        else:
            s3.create_bucket(Bucket=name)
        exp.rel("CONTAINS", account_id, exp.ci("bucket", name))
    s3.put_bucket_versioning(Bucket=f"assets-{account_id}", VersioningConfiguration={"Status": "Enabled"})

    _build_zone(session, endpoint, account_id, exp, targets)


def _build_zone(session: boto3.Session, endpoint: str, account_id: str, exp: Expected,
                targets: list[tuple[str, str, str, str]]) -> None:
    route53 = session.client("route53", endpoint_url=endpoint, region_name="us-east-1")
    zone_name = f"corp{account_id[:1]}.example."
    zone = route53.create_hosted_zone(Name=zone_name, CallerReference=f"zone-{account_id}")["HostedZone"]
    zone_id = zone["Id"].rsplit("/", 1)[-1]
    exp.rel("CONTAINS", account_id, exp.ci("dns_zone", zone_id))
    exp.handles["zone_id"] = zone_id
    changes = []
    for name, rtype, value, resolved in targets:
        fqdn = f"{name}{zone_name}"
        if rtype == "A" and not value[0].isdigit():  # an alias to a load balancer
            record: dict[str, Any] = {"Name": fqdn, "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": f"dualstack.{value}.", "EvaluateTargetHealth": False}}
        else:
            record = {"Name": fqdn, "Type": rtype, "TTL": 60, "ResourceRecords": [{"Value": value}]}
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
        # Stored as the catalog normalises a record name: lower case, no trailing dot.
        key = exp.ci("dns_record", f"{zone_id}/{fqdn.rstrip('.').lower()} {rtype}")
        exp.rel("CONTAINS", zone_id, key)
        exp.rel("RESOLVES_TO", key, resolved)
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})


KEY_ATTRIBUTES = {
    "cloud_account": "account_id", "cloud_region": "region", "vpc": "network_id", "subnet": "subnet_id",
    "route_table": "route_table_id", "gateway": "gateway_id", "security_group": "group_id",
    "cloud_instance": "instance_id", "host": "instance_id", "cloud_interface": "interface_id",
    "volume": "volume_id", "cluster": "cluster_id", "load_balancer": "arn", "database": "db_id",
    "function": "function_arn", "bucket": "bucket_name", "dns_zone": "zone_id", "container_service": "service_arn",
    "iam_role": "role_arn",
}


def ci_key(ci: Any, by_uid: dict[str, Any]) -> str:
    """The key ``Expected`` uses for a stored CI."""
    if ci.ci_class == "dns_record":
        own = f"{ci.attributes['record_name']} {ci.attributes['record_type']}"
    else:
        own = str(ci.attributes[KEY_ATTRIBUTES[ci.ci_class]])
    if ci.parent_uid is not None:
        return f"{ci_key(by_uid[ci.parent_uid], by_uid)}/{own}"
    return own


def store_view(store: Any, statuses: tuple[str, ...] = ("active",)) -> Expected:
    """The store's CIs and relationships in ``statuses``, keyed as ``Expected`` keys them."""
    by_uid = {ci.uid: ci for batch in store.iter_cis() for ci in batch}
    view = Expected()
    for ci in by_uid.values():
        if ci.status.value in statuses:
            view.ci(ci.ci_class, ci_key(ci, by_uid))
    for batch in store.iter_relationships():
        for rel in batch:
            if rel.status.value in statuses:
                view.rel(rel.type, ci_key(by_uid[rel.source_uid], by_uid), ci_key(by_uid[rel.target_uid], by_uid))
    return view


def build_small_account(endpoint: str, account_id: str, regions: tuple[str, ...] = REGIONS) -> Expected:
    """A lean estate (VPC, subnet, 2 instances per region; a zone pointing at each region's first one)."""
    session = account_session(endpoint, account_id)
    exp = Expected()
    exp.ci("cloud_account", account_id)
    builder = f"arn:aws:iam::{account_id}:role/builder"
    iam = session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    if any(r["Arn"] == builder for r in iam.list_roles()["Roles"]):
        exp.rel("CONTAINS", account_id, exp.ci("iam_role", builder))
    targets = []
    for region in regions:
        ec2 = session.client("ec2", endpoint_url=endpoint, region_name=region)
        _drop_default_vpc(ec2)
        region_key = exp.ci("cloud_region", f"{account_id}/{region}")
        exp.rel("CONTAINS", account_id, region_key)
        net = REGIONS.index(region) if region in REGIONS else len(REGIONS)
        vpc = ec2.create_vpc(CidrBlock=f"10.{net}.0.0/16")["Vpc"]["VpcId"]
        exp.rel("CONTAINS", region_key, exp.ci("vpc", vpc))
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
        for table in tables:
            exp.rel("IN_NETWORK", exp.ci("route_table", table["RouteTableId"]), vpc)
        for group in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]:
            exp.rel("IN_NETWORK", exp.ci("security_group", group["GroupId"]), vpc)
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{net}.0.0/24")["Subnet"]["SubnetId"]
        exp.rel("IN_NETWORK", exp.ci("subnet", subnet), vpc)
        exp.rel("USES", subnet, tables[0]["RouteTableId"])  # no table of its own: the VPC's main one
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        reservation = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=2, MaxCount=2,
                                        SubnetId=subnet)
        instances = [i["InstanceId"] for i in reservation["Instances"]]
        expect_instances(exp, ec2, instances, region_key)
        exp.handles[region] = {"instances": instances, "region_key": region_key, "image": image,
                               "subnets": [subnet]}
        first = reservation["Instances"][0]
        targets.append((f"web.{region.replace('-', '')}.", "A", first["PrivateIpAddress"], first["InstanceId"]))
    _build_zone(session, endpoint, account_id, exp, targets)
    return exp
