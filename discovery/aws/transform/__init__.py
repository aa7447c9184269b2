"""Pure transforms from recorded AWS payloads to Observations and ObservedRelations.

No I/O here: every function takes the raw response pages a scope collected
(``discovery.aws.client``) and returns items, so they are tested against the
recordings in ``tests/data/aws/``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from cmdb.observation import Item
from discovery.aws.transform.account_wide import transform_account
from discovery.aws.transform.balancing import transform_balancing
from discovery.aws.transform.compute import transform_compute
from discovery.aws.transform.dns import DnsPointer, dns_pointers, transform_dns_edges
from discovery.aws.transform.emit import Emitter, account_ref, region_ref
from discovery.aws.transform.interface_owners import transform_interface_owners
from discovery.aws.transform.network import transform_network
from discovery.aws.transform.payload import Payload, label, skipping
from discovery.aws.transform.services import transform_services

__all__ = [
    "DnsPointer", "Payload", "dns_pointers", "global_scope", "region_scope", "skip_malformed", "transform_global",
    "transform_region",
]


def region_scope(account_id: str, region: str) -> str:
    return f"{account_id}/{region}"


def global_scope(account_id: str) -> str:
    return f"{account_id}/global"


T = TypeVar("T")
# Past this many malformed elements the payload is not what the transforms expect at all.
MAX_SKIPPED = 50


def skip_malformed(transform: Callable[[], T], problems: list[str] | None) -> T:
    """Run ``transform``; an element it cannot read is named in ``problems``, left out, and the
    transform run again without it, so the rest of the payload is still described.

    Without ``problems`` (or past ``MAX_SKIPPED``, or when no element was in progress) the
    error propagates: the caller then treats the whole scope as unreadable.
    """
    if problems is None:
        return transform()
    with skipping() as state:
        while True:
            try:
                return transform()
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                culprit = state.culprit()
                if culprit is None or len(state.skipped) >= MAX_SKIPPED:
                    raise
                call, element = culprit
                state.skipped[id(element)] = element
                state.in_progress.clear()
                problems.append(f"{call}: {label(element)} is malformed ({type(exc).__name__}: {exc}), skipped")


def transform_region(payload: Payload, account_id: str, region: str, observed_at: int,
                     pointers: list[DnsPointer] | None = None,
                     problems: list[str] | None = None) -> tuple[list[Item], Counter[str]]:
    """Everything one account+region payload shows, and per-class/per-type counts.

    ``pointers`` are the account's DNS record targets; those naming this region's
    instances and load balancers become RESOLVES_TO edges of this scope. With
    ``problems``, a malformed element is named there and skipped (``skip_malformed``).
    """
    return skip_malformed(lambda: _region(payload, account_id, region, observed_at, pointers), problems)


def _region(payload: Payload, account_id: str, region: str, observed_at: int,
            pointers: list[DnsPointer] | None) -> tuple[list[Item], Counter[str]]:
    out = Emitter(scope=region_scope(account_id, region), observed_at=observed_at)
    # The account is observed by every scope, so the region's parent exists whatever is ingested first.
    out.ci(account_ref(account_id), provider="aws")
    region_ci = out.ci(region_ref(account_id, region), name=region)
    transform_network(out, payload, region_ci)
    live = transform_compute(out, payload, region_ci)
    transform_balancing(out, payload, account_id, region, live)
    transform_interface_owners(out, payload, account_id, region)
    transform_services(out, payload, region_ci)
    transform_dns_edges(out, payload, account_id, region, pointers or [])
    return out.items, out.stats


def transform_global(payload: Payload, account_id: str, observed_at: int,
                     problems: list[str] | None = None) -> tuple[list[Item], Counter[str]]:
    """The account's global services: the account, IAM roles, buckets, zones and records."""
    def run() -> tuple[list[Item], Counter[str]]:
        out = Emitter(scope=global_scope(account_id), observed_at=observed_at)
        transform_account(out, payload, account_id)
        return out.items, out.stats
    return skip_malformed(run, problems)
