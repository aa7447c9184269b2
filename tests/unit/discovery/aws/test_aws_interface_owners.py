"""Owners of AWS-managed ENIs, on payloads in the shapes AWS returns them (moto cannot make them).

Moto cannot produce either: RDS instances get no ENI, and moto 5.2.6 answers ``RunTask`` of
an awsvpc task definition with a 500 (``AttributeError: 'NetworkInterface' object has no
attribute 'private_dns_name'`` while it builds the task's ENI attachment), so no task ENI
exists to scan. The shapes AWS returns are written here instead: a Fargate task's ENI
described by its attachment's ARN (``arn:aws:ecs:<region>:<account>:attachment/<id>``,
requester ECS's account) and listed in the task's attachment details, and an RDS instance's
ENI ("RDSNetworkInterface", requester and instance owner ``amazon-rds``). Against the moto
server the scan makes the new ``ecs.list_tasks``/``ecs.describe_tasks`` calls for the estate's
cluster (tests/integration/aws/test_aws_discovery.py), which has no running task.
"""

from __future__ import annotations

from typing import Any

from cmdb.observation import ObservedRelation
from discovery.aws.transform import transform_region
from discovery.aws.transform.ecs_tasks import attachment_id

ACCOUNT, REGION = "111122223333", "eu-west-1"
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/apps"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/apps/api"
DB = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders"
ECS_REQUESTER = "578734482556"  # the account ECS creates task interfaces from


def eni(eni_id: str, description: str, requester: str, owner: str, subnet: str = "subnet-0a") -> dict[str, Any]:
    return {
        "NetworkInterfaceId": eni_id, "Description": description, "InterfaceType": "interface",
        "RequesterId": requester, "RequesterManaged": True, "Status": "in-use", "SubnetId": subnet,
        "VpcId": "vpc-0a", "PrivateIpAddress": "10.0.1.25", "MacAddress": "02:0c:4e:11:22:33",
        "Groups": [{"GroupId": "sg-0app", "GroupName": "app"}],
        "Attachment": {"AttachmentId": f"ela-attach-{eni_id[4:]}", "DeviceIndex": 1, "InstanceOwnerId": owner,
                       "Status": "attached"},
    }


def task(task_id: str, group: str, attachment: str, eni_id: str | None, status: str = "RUNNING") -> dict[str, Any]:
    details = [{"name": "subnetId", "value": "subnet-0a"}, {"name": "privateIPv4Address", "value": "10.0.1.25"}]
    if eni_id is not None:
        details.append({"name": "networkInterfaceId", "value": eni_id})
    return {
        "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/apps/{task_id}", "clusterArn": CLUSTER, "group": group,
        "lastStatus": status, "desiredStatus": "RUNNING", "launchType": "FARGATE",
        "attachments": [{"id": attachment, "type": "ElasticNetworkInterface", "status": "ATTACHED",
                         "details": details}],
    }


def arn(attachment: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:attachment/{attachment}"


PAYLOAD: dict[str, Any] = {
    "ecs.describe_services": [{"services": [{
        "serviceArn": SERVICE, "serviceName": "api", "clusterArn": CLUSTER, "status": "ACTIVE", "desiredCount": 2,
        "launchType": "FARGATE"}]}],
    "ecs.describe_tasks": [{"tasks": [
        # the service's task, its ENI named in the attachment's details
        task("1f0e", "service:api", "a1b2c3d4-0001", "eni-0task1"),
        # the service's task still attaching: no ENI detail yet, only the ENI's description says
        task("2f0e", "service:api", "a1b2c3d4-0002", None),
        # a task run on its own: its ENI has no owner CI (tasks are not CIs)
        task("3f0e", "family:batch", "a1b2c3d4-0003", "eni-0task3"),
        # a stopped task of the service: its ENI is no longer the service's
        task("4f0e", "service:api", "a1b2c3d4-0004", "eni-0task4", status="STOPPED"),
    ]}],
    "ec2.describe_network_interfaces": [{"NetworkInterfaces": [
        eni("eni-0task1", arn("a1b2c3d4-0001"), ECS_REQUESTER, ECS_REQUESTER),
        eni("eni-0task2", arn("a1b2c3d4-0002"), ECS_REQUESTER, ECS_REQUESTER),
        eni("eni-0task3", arn("a1b2c3d4-0003"), ECS_REQUESTER, ECS_REQUESTER),
        eni("eni-0task4", arn("a1b2c3d4-0004"), ECS_REQUESTER, ECS_REQUESTER),
        # RDS: names no DB instance, although the only one shares its subnet and security group
        eni("eni-0rds", "RDSNetworkInterface", "amazon-rds", "amazon-rds"),
    ]}],
    "rds.describe_db_instances": [{"DBInstances": [{
        "DBInstanceIdentifier": "orders", "DBInstanceArn": DB, "Engine": "postgres", "DBInstanceStatus": "available",
        "DBSubnetGroup": {"Subnets": [{"SubnetIdentifier": "subnet-0a"}]},
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0app", "Status": "active"}],
        "Endpoint": {"Address": "orders.abc.eu-west-1.rds.amazonaws.com", "Port": 5432}}]}],
}


def test_task_interfaces_are_used_by_their_service_and_nothing_is_guessed() -> None:
    items, stats = transform_region(PAYLOAD, ACCOUNT, REGION, 1)
    uses = {(str(next(iter(i.from_ci.identifiers.values()))), str(i.to_ci.identifiers["interface_id"]))
            for i in items if isinstance(i, ObservedRelation) and i.type == "USES" and i.to_ci.ci_class == "cloud_interface"}
    assert uses == {(SERVICE, "eni-0task1"), (SERVICE, "eni-0task2")}
    # the standalone and the stopped task's ENIs and the RDS ENI: made by AWS for something, owner not named
    assert stats["eni_owner_unidentified"] == 3


def test_an_ec2_launch_type_task_interface_is_attached_to_its_instance_and_used_by_its_service() -> None:
    # awsvpc on the EC2 launch type: the task's ENI is attached to the container instance too.
    instance = {"InstanceId": "i-0ci", "State": {"Name": "running"}, "SubnetId": "subnet-0a", "SecurityGroups": []}
    on_ec2 = eni("eni-0task5", arn("a1b2c3d4-0005"), ECS_REQUESTER, ACCOUNT)
    on_ec2["Attachment"] = {**on_ec2["Attachment"], "InstanceId": "i-0ci"}
    payload = {**PAYLOAD, "ec2.describe_instances": [{"Reservations": [{"Instances": [instance]}]}],
               "ec2.describe_network_interfaces": [{"NetworkInterfaces": [on_ec2]}],
               "ecs.describe_tasks": [{"tasks": [task("5f0e", "service:api", "a1b2c3d4-0005", "eni-0task5")]}]}
    items, _ = transform_region(payload, ACCOUNT, REGION, 1)
    edges = {(i.type, str(next(iter(i.from_ci.identifiers.values()))), str(next(iter(i.to_ci.identifiers.values()))))
             for i in items if isinstance(i, ObservedRelation) and "eni-0task5" in (
                 str(next(iter(i.from_ci.identifiers.values()))), str(next(iter(i.to_ci.identifiers.values()))))}
    assert {e for e in edges if e[0] in ("USES", "ATTACHED_TO")} == {
        ("ATTACHED_TO", "eni-0task5", "i-0ci"), ("USES", SERVICE, "eni-0task5")}


def test_an_attachment_arn_is_read_from_an_eni_description_only() -> None:
    assert attachment_id(arn("a1b2c3d4-0001")) == "a1b2c3d4-0001"
    assert [attachment_id(d) for d in ("RDSNetworkInterface", "ELB app/web/50dc6c495c0c9188",
                                       f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/apps/1f0e",
                                       f"arn:aws:ecs:{REGION}:{ACCOUNT}:attachment/")] == [None] * 4
