"""``owner USES interface``: the AWS resource each network interface was made for.

AWS names an ENI's owner only in the ENI's description or type, or in the owner's own
description: ``ELB app/NAME/ID`` (an ALB; ``net/`` an NLB), ``ELB NAME`` (a classic ELB),
``AWS Lambda VPC ENI-NAME-...``, a NAT gateway listing its ENIs, an ECS task's ENI
attachment (``discovery.aws.transform.ecs_tasks``). Only that evidence links an owner:
an RDS ENI ("RDSNetworkInterface", requester ``amazon-rds``) names no DB instance, and a
subnet or security group shared with one is no proof, so it is counted, not guessed.
"""

from __future__ import annotations

from typing import Any

from cmdb.observation import CIRef
from discovery.aws.transform.balancing import classic_elb_arn, lb_ref
from discovery.aws.transform.ecs_tasks import attachment_id, task_interface_owners
from discovery.aws.transform.emit import Emitter, ref
from discovery.aws.transform.payload import Payload, items

RDS_DESCRIPTION = "RDSNetworkInterface"
RDS_REQUESTER = "amazon-rds"


def managed_by_aws(eni: dict[str, Any]) -> bool:
    """An ENI an AWS service made for a resource of the account (RDS, an ECS task), by its own marks."""
    description = str(eni.get("Description") or "")
    return description == RDS_DESCRIPTION or eni.get("RequesterId") == RDS_REQUESTER \
        or attachment_id(description) is not None


def transform_interface_owners(out: Emitter, payload: Payload, account_id: str, region: str) -> None:
    """``owner USES interface`` for every ENI whose owner the payload names; the rest counted
    (``eni_owner_unidentified``) when an AWS service made them for something."""
    elbv2 = {lb["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]: lb["LoadBalancerArn"]
             for lb in items(payload, "elbv2.describe_load_balancers", "LoadBalancers")}
    classic = {lb["LoadBalancerName"] for lb in items(payload, "elb.describe_load_balancers",
                                                      "LoadBalancerDescriptions")}
    nat_enis = {a["NetworkInterfaceId"]: nat["NatGatewayId"]
                for nat in items(payload, "ec2.describe_nat_gateways", "NatGateways")
                for a in nat.get("NatGatewayAddresses") or [] if a.get("NetworkInterfaceId")}
    functions = {fn["FunctionName"]: fn["FunctionArn"] for fn in items(payload, "lambda.list_functions", "Functions")}
    task_enis, task_attachments = task_interface_owners(payload)
    for eni in items(payload, "ec2.describe_network_interfaces", "NetworkInterfaces"):
        eni_id = eni["NetworkInterfaceId"]
        description = str(eni.get("Description") or "")
        # An awsvpc task's ENI (on the EC2 launch type also attached to its container instance).
        owner: CIRef | None = task_enis.get(eni_id) or task_attachments.get(attachment_id(description) or "")
        if owner is None and (eni.get("Attachment") or {}).get("InstanceId"):
            continue  # an instance's: ATTACHED_TO it (compute)
        if owner is None and eni_id in nat_enis:
            owner = ref("gateway", gateway_id=nat_enis[eni_id])
        elif owner is None and description.startswith("ELB "):
            name = description[4:]
            if name in elbv2:
                owner = lb_ref(elbv2[name])
            elif name in classic:
                owner = lb_ref(classic_elb_arn(account_id, region, name))
        elif owner is None and description.startswith("AWS Lambda VPC ENI-"):
            rest = description.removeprefix("AWS Lambda VPC ENI-")
            owner = next((ref("function", function_arn=arn) for name, arn in sorted(functions.items(), reverse=True)
                          if rest.startswith(f"{name}-")), None)
        if owner is not None:
            out.rel("USES", owner, ref("cloud_interface", interface_id=eni_id))
        elif managed_by_aws(eni):
            out.stats["eni_owner_unidentified"] += 1
