"""EC2 instances, network interfaces, EBS volumes and Auto Scaling groups."""

from __future__ import annotations

from cmdb.observation import CIRef
from discovery.aws.transform.emit import Emitter, ref, tag_map
from discovery.aws.transform.network import sg_ref, subnet_ref
from discovery.aws.transform.payload import Elements, Payload, items

# A terminated instance stays listed for a while; it no longer exists, so it is not seen.
GONE_STATES = frozenset({"terminated", "shutting-down"})


def instance_ref(instance_id: str) -> CIRef:
    return ref("cloud_instance", instance_id=instance_id)


def live_instances(payload: Payload) -> Elements:
    """The instances of ``ec2.describe_instances`` that still exist."""
    instances = Elements("ec2.describe_instances", (
        instance
        for reservation in items(payload, "ec2.describe_instances", "Reservations")
        for instance in reservation.get("Instances") or []
    ))
    return Elements("ec2.describe_instances", (
        i for i in instances if (i.get("State") or {}).get("Name") not in GONE_STATES))


def placement(out: Emitter, subject: CIRef, subnet_ids: list[str], group_ids: list[str]) -> None:
    """``subject IN_NETWORK`` each subnet and ``MEMBER_OF`` each security group."""
    for subnet_id in subnet_ids:
        if subnet_id:
            out.rel("IN_NETWORK", subject, subnet_ref(subnet_id))
    for group_id in group_ids:
        if group_id:
            out.rel("MEMBER_OF", subject, sg_ref(group_id))


def transform_compute(out: Emitter, payload: Payload, region: CIRef) -> set[str]:
    """Instances, ENIs, volumes and ASGs; returns the ids of the live instances."""
    live: set[str] = set()
    for instance in live_instances(payload):
        live.add(instance["InstanceId"])
        tags = tag_map(instance.get("Tags"))
        instance_ci = out.ci(
            instance_ref(instance["InstanceId"]), name=tags.get("Name", instance["InstanceId"]),
            instance_type=instance.get("InstanceType"), image_id=instance.get("ImageId"),
            availability_zone=(instance.get("Placement") or {}).get("AvailabilityZone"),
            state=(instance.get("State") or {}).get("Name"), private_ip=instance.get("PrivateIpAddress"),
            public_ip=instance.get("PublicIpAddress"), architecture=instance.get("Architecture"), tags=tags,
        )
        placement(out, instance_ci, [instance.get("SubnetId", "")],
                  [g["GroupId"] for g in instance.get("SecurityGroups") or []])

    for eni in items(payload, "ec2.describe_network_interfaces", "NetworkInterfaces"):
        attached_to = (eni.get("Attachment") or {}).get("InstanceId")
        if attached_to and attached_to not in live:
            continue  # goes away with its terminated instance
        tags = tag_map(eni.get("TagSet"))
        secondary = sorted(a["PrivateIpAddress"] for a in eni.get("PrivateIpAddresses") or []
                           if a.get("PrivateIpAddress") and not a.get("Primary"))
        public = sorted({a["PublicIp"] for a in [eni.get("Association") or {}] + [
            x.get("Association") or {} for x in eni.get("PrivateIpAddresses") or []] if a.get("PublicIp")})
        eni_ci = out.ci(
            ref("cloud_interface", interface_id=eni["NetworkInterfaceId"]),
            name=tags.get("Name", eni["NetworkInterfaceId"]), description=eni.get("Description") or None,
            mac=eni.get("MacAddress"), private_ip=eni.get("PrivateIpAddress"),
            secondary_ips=secondary or None, public_ips=public or None,
            interface_type=eni.get("InterfaceType"), requester=eni.get("RequesterId"), tags=tags,
        )
        placement(out, eni_ci, [eni.get("SubnetId", "")], [g["GroupId"] for g in eni.get("Groups") or []])
        if attached_to:
            out.rel("ATTACHED_TO", eni_ci, instance_ref(attached_to),
                    device_index=(eni.get("Attachment") or {}).get("DeviceIndex"))

    for volume in items(payload, "ec2.describe_volumes", "Volumes"):
        if volume.get("State") in ("deleting", "deleted"):
            continue
        tags = tag_map(volume.get("Tags"))
        volume_ci = out.ci(
            ref("volume", volume_id=volume["VolumeId"]), name=tags.get("Name", volume["VolumeId"]),
            size_gb=float(volume["Size"]) if volume.get("Size") is not None else None,
            volume_type=volume.get("VolumeType"), state=volume.get("State"),
            encrypted=bool(volume.get("Encrypted", False)), tags=tags,
        )
        out.rel("CONTAINS", region, volume_ci)
        for attachment in volume.get("Attachments") or []:
            if attachment.get("InstanceId") in live and attachment.get("State") in ("attached", "attaching"):
                out.rel("ATTACHED_TO", volume_ci, instance_ref(attachment["InstanceId"]),
                        device=attachment.get("Device"))

    for group in items(payload, "autoscaling.describe_auto_scaling_groups", "AutoScalingGroups"):
        tags = tag_map(group.get("Tags"))
        asg_ci = out.ci(
            ref("cluster", cluster_id=group["AutoScalingGroupARN"]), name=group["AutoScalingGroupName"], kind="asg",
            desired=group.get("DesiredCapacity"), min_up=str(max(1, int(group.get("MinSize") or 0))), tags=tags,
        )
        subnets = [s.strip() for s in (group.get("VPCZoneIdentifier") or "").split(",") if s.strip()]
        placement(out, asg_ci, subnets, [])
        for member in group.get("Instances") or []:
            if member.get("InstanceId") in live:
                out.rel("HAS_MEMBER", asg_ci, instance_ref(member["InstanceId"]))
    return live
