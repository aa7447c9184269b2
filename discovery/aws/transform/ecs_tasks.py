"""Which ECS service holds an awsvpc task's network interface.

An awsvpc task gets its own ENI. The evidence that names its owner, per running task of
``ecs.describe_tasks``: the task's ``ElasticNetworkInterface`` attachment lists the ENI
(detail ``networkInterfaceId``), and AWS writes that attachment's ARN
(``arn:aws:ecs:<region>:<account>:attachment/<id>``) as the ENI's description, which
joins the two when the detail is missing (a task still attaching). The task's group
``service:NAME`` names its service in its cluster. Tasks are not CIs (they come and go
with every deployment): the owner is the service, and a task run outside a service
gives its ENI no owner.
"""

from __future__ import annotations

from typing import Any

from cmdb.observation import CIRef
from discovery.aws.transform.emit import ref
from discovery.aws.transform.payload import Payload, items

ENI_ATTACHMENT = "ElasticNetworkInterface"
SERVICE_GROUP = "service:"
ATTACHMENT_ARN = ":attachment/"


def attachment_id(description: str) -> str | None:
    """The ECS attachment id an ENI's description names (``arn:aws:ecs:...:attachment/ID``), if any."""
    if description.startswith("arn:") and ":ecs:" in description and ATTACHMENT_ARN in description:
        return description.rsplit(ATTACHMENT_ARN, 1)[1] or None
    return None


def _service_of(task: dict[str, Any], services: dict[tuple[str, str], str]) -> CIRef | None:
    group = str(task.get("group") or "")
    if not group.startswith(SERVICE_GROUP):
        return None
    arn = services.get((str(task.get("clusterArn") or ""), group.removeprefix(SERVICE_GROUP)))
    return ref("container_service", service_arn=arn) if arn else None


def task_interface_owners(payload: Payload) -> tuple[dict[str, CIRef], dict[str, CIRef]]:
    """``(by ENI id, by attachment id)``: the service whose running task holds each task ENI."""
    services = {(str(s.get("clusterArn") or ""), str(s["serviceName"])): str(s["serviceArn"])
                for s in items(payload, "ecs.describe_services", "services") if s.get("status") != "INACTIVE"}
    by_eni: dict[str, CIRef] = {}
    by_attachment: dict[str, CIRef] = {}
    for task in items(payload, "ecs.describe_tasks", "tasks"):
        if task.get("lastStatus") in ("DEPROVISIONING", "STOPPED"):
            continue
        owner = _service_of(task, services)
        if owner is None:
            continue
        for attachment in task.get("attachments") or []:
            if attachment.get("type") != ENI_ATTACHMENT:
                continue
            if attachment.get("id"):
                by_attachment[str(attachment["id"])] = owner
            for detail in attachment.get("details") or []:
                if detail.get("name") == "networkInterfaceId" and detail.get("value"):
                    by_eni[str(detail["value"])] = owner
    return by_eni, by_attachment
