"""Classic ELBs, ALBs/NLBs with listeners, target groups and their registered targets."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from cmdb.observation import CIRef
from discovery.aws.transform.compute import instance_ref, live_instances, placement
from discovery.aws.transform.emit import Emitter, ref
from discovery.aws.transform.payload import Payload, items, with_request


def classic_elb_arn(account_id: str, region: str, name: str) -> str:
    """Classic ELBs have no ARN in their describe output; this is the one IAM uses."""
    return f"arn:aws:elasticloadbalancing:{region}:{account_id}:loadbalancer/{name}"


def lb_ref(arn: str) -> CIRef:
    return ref("load_balancer", arn=arn)


def target_group_ref(arn: str) -> CIRef:
    return ref("cluster", cluster_id=arn)


def normalize_dns(name: str) -> str:
    """``dualstack.My-LB.elb.amazonaws.com.`` -> ``my-lb.elb.amazonaws.com``."""
    name = name.strip().rstrip(".").lower()
    return name.removeprefix("dualstack.")


def _forwarded_groups(action: dict[str, Any]) -> list[str]:
    arns = [action["TargetGroupArn"]] if action.get("TargetGroupArn") else []
    for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
        if group.get("TargetGroupArn"):
            arns.append(group["TargetGroupArn"])
    return arns


def transform_balancing(out: Emitter, payload: Payload, account_id: str, region: str, live: set[str]) -> None:
    """Load balancers ROUTES_TO target groups ROUTES_TO instances; classic ELBs HAS_MEMBER instances."""
    for lb in items(payload, "elb.describe_load_balancers", "LoadBalancerDescriptions"):
        listeners = [
            {"protocol": d["Listener"].get("Protocol"), "port": d["Listener"].get("LoadBalancerPort"),
             "instance_port": d["Listener"].get("InstancePort")}
            for d in lb.get("ListenerDescriptions") or [] if d.get("Listener")
        ]
        lb_ci = out.ci(
            lb_ref(classic_elb_arn(account_id, region, lb["LoadBalancerName"])), name=lb["LoadBalancerName"],
            dns_name=normalize_dns(lb["DNSName"]) if lb.get("DNSName") else None, scheme=lb.get("Scheme"),
            lb_type="classic", listeners=listeners, min_up="1",
        )
        placement(out, lb_ci, list(lb.get("Subnets") or []), list(lb.get("SecurityGroups") or []))
        for member in lb.get("Instances") or []:
            if member.get("InstanceId") in live:
                out.rel("HAS_MEMBER", lb_ci, instance_ref(member["InstanceId"]))

    listeners_by_lb: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for request, listener in with_request(payload, "elbv2.describe_listeners", "Listeners"):
        listeners_by_lb[listener.get("LoadBalancerArn") or request.get("LoadBalancerArn", "")].append(listener)
    groups = items(payload, "elbv2.describe_target_groups", "TargetGroups")
    known_groups = {group["TargetGroupArn"] for group in groups}

    balancers = items(payload, "elbv2.describe_load_balancers", "LoadBalancers")
    known_lbs = {lb["LoadBalancerArn"] for lb in balancers}
    for lb in balancers:
        arn = lb["LoadBalancerArn"]
        listeners = listeners_by_lb.get(arn, [])
        lb_ci = out.ci(
            lb_ref(arn), name=lb.get("LoadBalancerName"),
            dns_name=normalize_dns(lb["DNSName"]) if lb.get("DNSName") else None, scheme=lb.get("Scheme"),
            lb_type=lb.get("Type"),
            listeners=[{"protocol": x.get("Protocol"), "port": x.get("Port"),
                        "target_groups": sorted(a for d in x.get("DefaultActions") or [] for a in _forwarded_groups(d))}
                       for x in sorted(listeners, key=lambda x: (x.get("Port") or 0, x.get("ListenerArn", "")))],
        )
        placement(out, lb_ci, [z.get("SubnetId", "") for z in lb.get("AvailabilityZones") or []],
                  list(lb.get("SecurityGroups") or []))
        for listener in listeners:
            for action in listener.get("DefaultActions") or []:
                for group_arn in _forwarded_groups(action):
                    if group_arn in known_groups:
                        out.rel("ROUTES_TO", lb_ci, target_group_ref(group_arn))

    for group in groups:
        group_ci = out.ci(target_group_ref(group["TargetGroupArn"]), name=group.get("TargetGroupName"),
                          kind="target_group", min_up="1")
        for lb_arn in group.get("LoadBalancerArns") or []:
            if lb_arn in known_lbs:
                out.rel("ROUTES_TO", lb_ref(lb_arn), group_ci)

    holders = address_holders(payload, live)
    for request, health in with_request(payload, "elbv2.describe_target_health", "TargetHealthDescriptions"):
        tg_arn = str(request.get("TargetGroupArn", ""))
        target_id = str((health.get("Target") or {}).get("Id", ""))
        port = (health.get("Target") or {}).get("Port")
        if tg_arn not in known_groups:
            continue
        if target_id in live:
            out.rel("ROUTES_TO", target_group_ref(tg_arn), instance_ref(target_id), port=port)
        elif target_id.startswith("arn:aws:lambda:"):
            out.rel("ROUTES_TO", target_group_ref(tg_arn), ref("function", function_arn=function_arn(target_id)),
                    qualifier=qualifier(target_id))
        elif target_id in known_lbs:  # type alb: an NLB's target group forwarding to an ALB
            out.rel("ROUTES_TO", target_group_ref(tg_arn), lb_ref(target_id), port=port)
        elif target_id in holders:  # type ip: the instance or interface holding the address
            out.rel("ROUTES_TO", target_group_ref(tg_arn), holders[target_id], port=port)


def function_arn(arn: str) -> str:
    """A Lambda ARN without its alias or version (``...:function:name:live`` -> ``...:function:name``)."""
    return ":".join(arn.split(":")[:7])


def qualifier(arn: str) -> str | None:
    """The alias or version a Lambda ARN names, if any."""
    parts = arn.split(":")
    return parts[7] if len(parts) > 7 else None


def address_holders(payload: Payload, live: set[str]) -> dict[str, CIRef]:
    """Private address -> the live instance, else the network interface, that holds it (targets of type ip)."""
    holders: dict[str, CIRef] = {}
    for eni in items(payload, "ec2.describe_network_interfaces", "NetworkInterfaces"):
        attached = (eni.get("Attachment") or {}).get("InstanceId")
        holder = instance_ref(attached) if attached in live else \
            ref("cloud_interface", interface_id=eni["NetworkInterfaceId"])
        if attached and attached not in live:
            continue
        for address in eni.get("PrivateIpAddresses") or [{"PrivateIpAddress": eni.get("PrivateIpAddress")}]:
            if address.get("PrivateIpAddress"):
                holders[address["PrivateIpAddress"]] = holder
    for instance in live_instances(payload):
        if instance.get("PrivateIpAddress"):
            holders[instance["PrivateIpAddress"]] = instance_ref(instance["InstanceId"])
    return holders
