"""The thin network layer: boto3 sessions, clients and the calls that collect a scope.

Everything here is I/O. What it returns is a :data:`Payload`: the raw response
pages of every call, keyed by ``"service.operation"``, with the request
parameters of per-resource calls kept under ``"_request"``. The pure functions in
``discovery.aws.transform`` turn a payload into Observations; tests feed them
recorded payloads from ``tests/data/aws/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from discovery.aws.calls import DECLARED, payload_key

Payload = dict[str, list[dict[str, Any]]]

# Global services answer in one partition region.
GLOBAL_REGION = "us-east-1"


class UndeclaredCall(RuntimeError):
    """A call not listed in ``discovery.aws.calls.API_CALLS`` (the IAM policy would miss it)."""


class EndpointDown(RuntimeError):
    """The endpoint stopped answering: the rest of the scope is not worth trying."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Static or temporary credentials for one account (never logged, never stored)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"Credentials(access_key_id={self.access_key_id[:4]}...)"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How clients are built: endpoint (moto in tests), retries and timeouts."""

    endpoint_url: str | None = None
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def config(self) -> Config:
        return Config(
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=4,
        )


def make_session(credentials: Credentials | None, profile: str | None = None) -> boto3.Session:
    """A new boto3 session: sessions are not thread-safe, so each worker builds its own."""
    if credentials is not None:
        return boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    return boto3.Session(profile_name=profile) if profile else boto3.Session()


class WorkerSessions:
    """One boto3 session per worker thread and account, with its clients.

    Sessions and clients are not thread-safe and are costly to build (each loads
    the service models), so a worker keeps its own and reuses them across scopes.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def caller(self, key: str, credentials: Credentials | None, profile: str | None, region: str,
               settings: ClientSettings) -> AwsCaller:
        """A fresh caller (empty payload) on this thread's session for the account ``key``."""
        cache: dict[str, tuple[boto3.Session, dict[tuple[str, str], Any]]] = self._local.__dict__.setdefault("c", {})
        if key not in cache:
            cache[key] = (make_session(credentials, profile), {})
        session, clients = cache[key]
        return AwsCaller(session, region, settings, clients=clients)


@dataclass
class AwsCaller:
    """Makes declared calls for one scope and keeps their raw pages in a payload."""

    session: boto3.Session
    region: str
    settings: ClientSettings
    payload: Payload = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    calls: int = 0
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)  # (service, region) -> client

    def client(self, service: str) -> Any:
        key = (service, self.region)
        if key not in self.clients:
            self.clients[key] = self.session.client(
                service, region_name=self.region, endpoint_url=self.settings.endpoint_url,
                config=self.settings.config(),
            )
        return self.clients[key]

    def pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield every response page of a declared call, recording each in the payload."""
        if (service, operation) not in DECLARED:
            raise UndeclaredCall(f"{service}.{operation} is not declared in discovery.aws.calls")
        client = self.client(service)
        if client.can_paginate(operation):
            responses: Iterator[dict[str, Any]] = client.get_paginator(operation).paginate(**params)
        else:
            responses = iter([getattr(client, operation)(**params)])
        for response in responses:
            self.calls += 1
            page = {k: v for k, v in response.items() if k != "ResponseMetadata"}
            if params:
                page["_request"] = dict(params)
            self.payload.setdefault(payload_key(service, operation), []).append(page)
            yield page

    def collect(self, service: str, operation: str, **params: Any) -> list[dict[str, Any]]:
        """All pages of a call; a failure is recorded as a scope error and yields no pages.

        An unreachable endpoint raises :class:`EndpointDown` so the caller stops early.
        """
        try:
            return list(self.pages(service, operation, **params))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            self.errors.append(f"{service}.{operation}: {error.get('Code', 'Error')}: {error.get('Message', '')}")
        except BotoConnectionError as exc:
            self.errors.append(f"{service}.{operation}: endpoint unreachable: {exc}")
            raise EndpointDown(str(exc)) from exc
        except BotoCoreError as exc:
            self.errors.append(f"{service}.{operation}: {type(exc).__name__}: {exc}")
        return []


def _items(pages: list[dict[str, Any]], key: str) -> list[Any]:
    return [item for page in pages for item in page.get(key, [])]


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def collect_region(caller: AwsCaller) -> None:
    """Collect every regional resource type into ``caller.payload`` (errors in ``caller.errors``)."""
    try:
        caller.collect("ec2", "describe_vpcs")
        caller.collect("ec2", "describe_subnets")
        caller.collect("ec2", "describe_route_tables")
        caller.collect("ec2", "describe_internet_gateways")
        caller.collect("ec2", "describe_nat_gateways")
        caller.collect("ec2", "describe_security_groups")
        caller.collect("ec2", "describe_instances")
        caller.collect("ec2", "describe_network_interfaces")
        caller.collect("ec2", "describe_volumes")
        caller.collect("ec2", "describe_managed_prefix_lists")
        caller.collect("ec2", "describe_vpc_peering_connections")
        caller.collect("ec2", "describe_transit_gateway_attachments")
        caller.collect("autoscaling", "describe_auto_scaling_groups")
        caller.collect("elb", "describe_load_balancers")
        lbs = _items(caller.collect("elbv2", "describe_load_balancers"), "LoadBalancers")
        for lb in lbs:
            caller.collect("elbv2", "describe_listeners", LoadBalancerArn=lb["LoadBalancerArn"])
        groups = _items(caller.collect("elbv2", "describe_target_groups"), "TargetGroups")
        for group in groups:
            caller.collect("elbv2", "describe_target_health", TargetGroupArn=group["TargetGroupArn"])
        caller.collect("rds", "describe_db_instances")
        caller.collect("rds", "describe_db_clusters")
        caller.collect("lambda", "list_functions")
        for name in _items(caller.collect("eks", "list_clusters"), "clusters"):
            caller.collect("eks", "describe_cluster", name=name)
            for nodegroup in _items(caller.collect("eks", "list_nodegroups", clusterName=name), "nodegroups"):
                caller.collect("eks", "describe_nodegroup", clusterName=name, nodegroupName=nodegroup)
        cluster_arns = _items(caller.collect("ecs", "list_clusters"), "clusterArns")
        for chunk in _chunks(cluster_arns, 100):
            caller.collect("ecs", "describe_clusters", clusters=chunk)
        for cluster_arn in cluster_arns:
            service_arns = _items(caller.collect("ecs", "list_services", cluster=cluster_arn), "serviceArns")
            for chunk in _chunks(service_arns, 10):
                caller.collect("ecs", "describe_services", cluster=cluster_arn, services=chunk)
            # Running tasks: what names the owner of an awsvpc task's ENI (its attachment).
            task_arns = _items(caller.collect("ecs", "list_tasks", cluster=cluster_arn), "taskArns")
            for chunk in _chunks(task_arns, 100):
                caller.collect("ecs", "describe_tasks", cluster=cluster_arn, tasks=chunk)
        for table in _items(caller.collect("dynamodb", "list_tables"), "TableNames"):
            caller.collect("dynamodb", "describe_table", TableName=table)
        caller.collect("elasticache", "describe_cache_clusters")
        caller.collect("elasticache", "describe_replication_groups")
    except EndpointDown:
        pass


def collect_global(caller: AwsCaller) -> None:
    """Collect the account's global services (IAM, S3, Route53) into ``caller.payload``."""
    try:
        caller.collect("iam", "list_account_aliases")
        caller.collect("iam", "list_roles")
        for bucket in _items(caller.collect("s3", "list_buckets"), "Buckets"):
            caller.collect("s3", "get_bucket_location", Bucket=bucket["Name"])
            caller.collect("s3", "get_bucket_versioning", Bucket=bucket["Name"])
        for zone in _items(caller.collect("route53", "list_hosted_zones"), "HostedZones"):
            caller.collect("route53", "list_resource_record_sets", HostedZoneId=zone["Id"])
            if (zone.get("Config") or {}).get("PrivateZone"):  # which VPCs its addresses live in
                caller.collect("route53", "get_hosted_zone", Id=zone["Id"])
    except EndpointDown:
        pass
