"""Reading a scope payload (raw response pages keyed by ``service.operation``).

The elements of a call are handed out as ``Elements``: a list that, while a
transform runs under ``skipping()``, remembers which element is being worked on
and leaves out the elements found malformed. So one element a transform cannot
read (a missing id, a field of the wrong type) is named and skipped, and the
rest of the scope is transformed all the same (``discovery.aws.transform``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

Payload = dict[str, list[dict[str, Any]]]


@dataclass
class Skipping:
    """The elements in progress (innermost last) and those left out, by identity."""

    in_progress: list[tuple[str, Any]] = field(default_factory=list)
    skipped: dict[int, Any] = field(default_factory=dict)  # id -> element (kept alive so ids stay unique)

    def culprit(self) -> tuple[str, Any] | None:
        """The innermost element being transformed when a transform raised."""
        return self.in_progress[-1] if self.in_progress else None


_skipping: ContextVar[Skipping | None] = ContextVar("aws_payload_skipping", default=None)


@contextmanager
def skipping() -> Iterator[Skipping]:
    """Track elements while a transform runs (per thread/context)."""
    state = Skipping()
    token = _skipping.set(state)
    try:
        yield state
    finally:
        _skipping.reset(token)


class Elements(list[Any]):
    """The elements of one call; iterating them marks each as in progress in turn."""

    def __init__(self, call: str, elements: Iterable[Any]) -> None:
        state = _skipping.get()
        super().__init__(e for e in elements if state is None or id(e) not in state.skipped)
        self.call = call

    def __iter__(self) -> Iterator[Any]:
        state = _skipping.get()
        if state is None:
            yield from super().__iter__()
            return
        # Not try/finally: an exception in the consumer closes this generator on its way out,
        # and the element it was on must still be in progress when the caller asks. What an
        # inner loop left behind (a ``break``) is cleared when this loop moves on.
        depth = len(state.in_progress)
        for element in super().__iter__():
            del state.in_progress[depth:]
            state.in_progress.append((self.call, element))
            yield element
        del state.in_progress[depth:]


def items(payload: Payload, key: str, field: str) -> Elements:
    """Every element of ``field`` over all pages of the call ``key``."""
    return Elements(key, (item for page in payload.get(key, []) for item in page.get(field, []) or []))


def pages(payload: Payload, key: str) -> Elements:
    """The pages of a per-resource call (``describe_cluster``, ``describe_table``): one element each."""
    return Elements(key, payload.get(key, []))


def with_request(payload: Payload, key: str, field: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(request parameters, element)`` for per-resource calls such as describe_target_health."""
    for page in payload.get(key, []):
        request = page.get("_request", {})
        for item in Elements(key, page.get(field, []) or []):
            yield request, item


# A resource's own id comes before the ids it refers to (an instance's InstanceId before
# its SubnetId and VpcId, a listener's ListenerArn before its LoadBalancerArn), and its
# own name too (a group without its GroupId is named by its GroupName, not its VpcId).
_OWN_IDS = (
    "InstanceId", "NetworkInterfaceId", "VolumeId", "GroupId", "RouteTableId", "InternetGatewayId",
    "NatGatewayId", "ListenerArn", "TargetGroupArn", "AutoScalingGroupARN", "DBInstanceArn", "FunctionArn",
    "TableArn", "ARN", "serviceArn", "taskArn", "clusterArn", "arn", "Arn", "Id",
    "GroupName", "TargetGroupName", "LoadBalancerName", "DBInstanceIdentifier", "FunctionName",
    "AutoScalingGroupName", "CacheClusterId", "Name", "name",
    "SubnetId", "VpcId", "LoadBalancerArn",
)


def label(element: Any) -> str:
    """How to name an element in a problem: its own id, else another id-like field, else its type."""
    if not isinstance(element, dict):
        return f"a {type(element).__name__} where an object was expected"
    for key in (*_OWN_IDS, *element):
        value = element.get(key)
        if isinstance(value, str) and key.endswith(("Id", "Arn", "ARN", "Name", "Identifier", "arn", "name")):
            return f"{key}={value}"
    return "an element without an id"
