"""A moto server seeded with a small company's AWS estate (Acme: a prod and a shared-services account).

prod (111111111111, eu-west-1): a VPC with public and private subnets, web/app/db
security groups that allow tier to tier, instances ``web1``, ``app1``, ``db1``,
``cache1`` (the SSH lab hosts claim these instance ids, so AWS and SSH see one
server each), an ALB forwarding to a target group of ``web1``, a Postgres RDS
instance, an S3 bucket and a Route53 zone with an alias to the ALB.
shared (222222222222, eu-west-1): a small tooling VPC with a ``ci-runner``.
The scanner reaches both by assuming a role from the base (dummy) keys.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REGION = "eu-west-1"
PROD, SHARED = "111111111111", "222222222222"
ROLE = "cmdb-discovery"
# One of moto's bundled images; describing them all to pick one costs ~10 s.
AMI = "ami-03cf127a"
DUMMY_KEY = "demo-access-key"
DUMMY_SECRET = "demo-secret-key"  # moto accepts any key; nothing real is used


@dataclass(slots=True)
class AwsCompany:
    """Where the seeded estate is: the endpoint and the instance ids by Name tag."""

    endpoint: str
    instances: dict[str, str] = field(default_factory=dict)
    role_arns: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``moto_server`` on a free 127.0.0.1 port; returns the process and endpoint once it answers."""
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": DUMMY_KEY, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
           "AWS_DEFAULT_REGION": REGION}
    with open(work / "moto.log", "wb") as out:
        proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            return proc, endpoint
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start: {(work / 'moto.log').read_text()[-1000:]}") from None
            time.sleep(0.1)


def _session(endpoint: str, account: str) -> boto3.Session:
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=DUMMY_KEY,
                       aws_secret_access_key=DUMMY_SECRET)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="demo-seed")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)


def _drop_default_vpc(ec2: Any) -> None:
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        for igw in ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc["VpcId"])
            ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])


def _instance(ec2: Any, name: str, subnet: str, group: str, kind: str = "t3.small") -> str:
    reservation = ec2.run_instances(
        ImageId=AMI, InstanceType=kind, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": name}, {"Key": "owner", "Value": "platform-team"},
            {"Key": "environment", "Value": "production"}]}])
    return str(reservation["Instances"][0]["InstanceId"])


def _seed_prod(session: boto3.Session, endpoint: str) -> dict[str, str]:
    ec2 = session.client("ec2", endpoint_url=endpoint)
    _drop_default_vpc(ec2)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "acme-prod"}])
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.2.0/24", AvailabilityZone=f"{REGION}b")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    groups = {name: ec2.create_security_group(GroupName=name, Description=f"{name} tier", VpcId=vpc)["GroupId"]
              for name in ("web", "app", "db")}
    for target, source, port in (("app", "web", 8080), ("db", "app", 5432), ("db", "app", 6379)):
        ec2.authorize_security_group_ingress(GroupId=groups[target], IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": groups[source]}]}])
    ids = {
        "web1": _instance(ec2, "web1", public, groups["web"]),
        "app1": _instance(ec2, "app1", private, groups["app"]),
        "db1": _instance(ec2, "db1", private, groups["db"], "r6g.large"),
        "cache1": _instance(ec2, "cache1", private, groups["db"]),
    }
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}b", Size=200, VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=ids["db1"], Device="/dev/sdf")

    elbv2 = session.client("elbv2", endpoint_url=endpoint)
    alb = elbv2.create_load_balancer(Name="acme-shop", Subnets=[public, private], SecurityGroups=[groups["web"]],
                                     Type="application")["LoadBalancers"][0]
    tg = elbv2.create_target_group(Name="shop-web", Protocol="HTTP", Port=80, VpcId=vpc,
                                   TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": ids["web1"]}])
    elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])

    rds = session.client("rds", endpoint_url=endpoint)
    rds.create_db_subnet_group(DBSubnetGroupName="acme-db", DBSubnetGroupDescription="db",
                               SubnetIds=[public, private])
    rds.create_db_instance(DBInstanceIdentifier="acme-reporting", DBInstanceClass="db.t3.medium",
                           Engine="postgres", AllocatedStorage=50, DBSubnetGroupName="acme-db",
                           VpcSecurityGroupIds=[groups["db"]], MasterUsername="acme",
                           MasterUserPassword="demo-only-password")  # moto only
    s3 = session.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="acme-shop-assets", CreateBucketConfiguration={"LocationConstraint": REGION})
    route53 = session.client("route53", endpoint_url=endpoint)
    zone = route53.create_hosted_zone(Name="shop.acme.example", CallerReference="demo")["HostedZone"]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "www.shop.acme.example", "Type": "A",
            "AliasTarget": {"HostedZoneId": alb["CanonicalHostedZoneId"], "DNSName": alb["DNSName"],
                            "EvaluateTargetHealth": False}}}]})
    return ids


def _seed_shared(session: boto3.Session, endpoint: str) -> dict[str, str]:
    ec2 = session.client("ec2", endpoint_url=endpoint)
    _drop_default_vpc(ec2)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": "acme-shared"}])
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tools", Description="tooling", VpcId=vpc)["GroupId"]
    return {"ci-runner": _instance(ec2, "ci-runner", subnet, group)}


def seed_company(endpoint: str) -> AwsCompany:
    """Seed both accounts; returns instance ids by name and the role ARNs the scanner assumes."""
    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint}/moto-api/reset", data=b"", method="POST"), timeout=10).read()
    company = AwsCompany(endpoint=endpoint)
    company.instances.update(_seed_prod(_session(endpoint, PROD), endpoint))
    company.instances.update(_seed_shared(_session(endpoint, SHARED), endpoint))
    company.role_arns = [f"arn:aws:iam::{account}:role/{ROLE}" for account in (PROD, SHARED)]
    return company
