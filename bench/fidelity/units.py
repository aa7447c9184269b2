"""What one source hands the ingest in one scope, and which real thing each item denotes.

A source renders raw payloads from the ground truth and, while doing so, records
in an :class:`Index` which real thing each identifying value it wrote stands for
(within the payload of one host or device, where that is unambiguous). After the
project's own transform has turned the payload into Observations, each
Observation and relation is mapped back to real things through that index: this
is the harness's independent oracle, it never asks the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef, Item, Observation

# CI class -> family of real things it can denote (one index namespace per family).
FAMILY: dict[str, str] = {
    "host": "device", "physical_server": "device", "virtual_machine": "device", "cloud_instance": "device",
    "network_device": "device", "switch": "device", "router": "device", "firewall": "device",
    "interface": "interface", "ip_address": "ip", "subnet": "subnet", "software_instance": "service",
    "filesystem": "fs", "software_package": "package", "dns_zone": "zone", "dns_record": "record",
    "application": "application", "cloud_account": "account", "cloud_region": "region", "vpc": "vpc", "network": "vpc",
    "location": "location",
}


def norm(value: Any) -> str:
    """The oracle's own comparison form: trimmed, lower case, no trailing dot."""
    return str(value).strip().lower().rstrip(".")


class Index:
    """(family, parent thing, value) -> things, for one payload or the payloads of one scope."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str | None, str], set[str]] = {}

    def add(self, family: str, parent: str | None, tid: str, *values: Any) -> None:
        for value in values:
            if value is not None and value != "":
                self.values.setdefault((family, parent, norm(value)), set()).add(tid)

    def merge(self, other: Index) -> None:
        for key, tids in other.values.items():
            self.values.setdefault(key, set()).update(tids)

    def thing(self, ref: CIRef | Observation) -> str | None:
        """The one thing every identifying value sent points at; None when they do not agree on one."""
        parent = self.thing(ref.parent) if ref.parent is not None else None
        if ref.parent is not None and parent is None:
            return None
        family = FAMILY.get(ref.ci_class)
        if family is None:
            return None
        common: set[str] | None = None
        for value in ref.identifiers.values():
            tids = self.values.get((family, parent, norm(value)))
            if tids:  # a value the payload never wrote for this family (a scope, a flag) says nothing
                common = set(tids) if common is None else common & tids
        return next(iter(common)) if common is not None and len(common) == 1 else None


@dataclass
class Run:
    """One scan run: a source's items for one scope, and what they denote."""

    source: str
    scope: str
    complete: bool = True
    errors: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    # Parallel to items: the real thing each Observation denotes (None for relations and unknowns).
    things: list[str | None] = field(default_factory=list)
    relations: set[tuple[str, str, str]] = field(default_factory=set)  # (type, from thing, to thing)
    unmapped: int = 0
    # As the scanner's ScopeResult says: an inventory's parts (its removed hosts' scopes then age),
    # and whether nothing at all was read (silent, not absent).
    parts: tuple[str, ...] | None = None
    silent: bool = False

    def add(self, items: list[Item], index: Index | Callable[[Item], Index]) -> None:
        """Items built from one payload, mapped to things through that payload's index (or each item's)."""
        for item in items:
            self.items.append(item)
            if not isinstance(index, Index):
                self._map(item, index(item))
            else:
                self._map(item, index)

    def _map(self, item: Item, index: Index) -> None:
        if isinstance(item, Observation):
            tid = index.thing(item)
            self.things.append(tid)
            if tid is None:
                self.unmapped += 1
            elif item.parent is not None:
                parent = index.thing(item.parent)
                if parent is not None:
                    self.relations.add(("CONTAINS", parent, tid))
        else:
            self.things.append(None)
            a, b = index.thing(item.from_ci), index.thing(item.to_ci)
            if a is None or b is None:
                self.unmapped += 1
            else:
                self.relations.add((item.type, a, b))
