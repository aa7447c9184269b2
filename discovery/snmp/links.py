"""Physical links over a whole scope: the neighbours every device reported, joined.

A device reports each neighbour with the port id the neighbour sent. When that
neighbour was scanned too (recognised by its serial, chassis id or name), the link
is described with the neighbour's own identifiers and the port id is turned into
one of its interfaces through its own tables (``lldpLocPortTable``, ifName,
ifPhysAddress): a Juniper's local port number becomes its ``xe-0/2/0``. A
neighbour not scanned keeps the name its port id gives, or, when the id names no
interface (a local number, a MAC, an alias), the link ends at the device with the
port id on the edge: never an interface named after the port's description.

Each physical link is then one interface-to-interface edge (or interface-to-device
when the far port is unknown) and one device-to-device edge, emitted once from the
smaller end, whichever end or ends reported it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation
from discovery.snmp.build import BuildContext, DeviceResult, Neighbor

LinkKey = tuple[str, str, str, str]  # (device, interface, device, interface) from the smaller end


class _Scanned:
    """The scope's scanned devices, found by what a neighbour report says about them."""

    def __init__(self, results: Iterable[DeviceResult]) -> None:
        self.by: dict[str, dict[str, list[DeviceResult]]] = {}
        for result in results:
            if result.ref is None:
                continue
            for kind, value in result.ref.identifiers.items():
                self.by.setdefault(kind, {}).setdefault(str(value), []).append(result)

    def find(self, ref: CIRef) -> DeviceResult | None:
        ids = {k: str(v) for k, v in ref.identifiers.items()}
        # Strong identifiers first; a name only when it denotes one scanned device.
        for kind in ("serial_number", "chassis_id", "fqdn", "sys_name"):
            value = ids.get(kind)
            candidates = [c for c in self.by.get(kind, {}).get(value or "", []) if not _disagree(c, ids)]
            if len(candidates) == 1:
                return candidates[0]
        return None


def _disagree(result: DeviceResult, ids: dict[str, str]) -> bool:
    """Another thing: a serial or a domain present on both sides that differs."""
    assert result.ref is not None
    own = result.ref.identifiers
    return any(k in own and k in ids and str(own[k]) != ids[k] for k in ("serial_number", "dns_domain"))


@dataclass(frozen=True)
class _End:
    key: str
    ref: CIRef
    interface: str | None


def _iface(device: CIRef, name: str) -> CIRef:
    return CIRef(ci_class="interface", identifiers={"name": name}, parent=device)


def link_relations(results: list[DeviceResult], ctx: BuildContext) -> tuple[list[Item], set[LinkKey]]:
    """The CONNECTS_TO edges of every reported link, each physical link once, and the link keys."""
    scanned = _Scanned(results)
    items: list[Item] = []
    emitted: set[tuple[str, LinkKey]] = set()
    links: set[LinkKey] = set()

    def rel(a: CIRef, b: CIRef, attrs: dict[str, object]) -> None:
        items.append(ObservedRelation(
            source=ctx.source, scope=ctx.scope, type="CONNECTS_TO", from_ci=a, to_ci=b, attributes=attrs,
            evidence=Evidence(method=Method.CONFIG, confidence=1.0), observed_at=ctx.observed_at,
        ))

    for result in results:
        if result.ref is None:
            continue
        for neighbor in result.neighbors:
            near = _End(result.key, result.ref, neighbor.local_interface)
            far = _far_end(neighbor, scanned.find(neighbor.ref))
            first, second = sorted((near, far), key=lambda e: (e.key, e.interface or ""))
            key: LinkKey = (first.key, first.interface or "", second.key, second.interface or "")
            if (neighbor.protocol, key) in emitted:
                continue  # the other end (or a second row) reported the same link by the same protocol
            emitted.add((neighbor.protocol, key))
            links.add(key)
            attrs: dict[str, object] = {"protocol": neighbor.protocol}
            if far.interface is None:
                # The far port is known only by an id that names no interface here.
                if neighbor.remote_port.port_id is not None:
                    attrs["remote_port_id"] = neighbor.remote_port.port_id
                rel(_iface(near.ref, str(near.interface)), far.ref, attrs)
                rel(first.ref, second.ref, {"protocol": neighbor.protocol})
                continue
            if far.ref is neighbor.ref:  # what this device says of the neighbour's port is hearsay
                items.append(Observation(
                    source=ctx.source, scope=ctx.scope, ci_class="interface", identifiers={"name": far.interface},
                    attributes={"name": far.interface}, parent=far.ref, observed_at=ctx.observed_at, hearsay=True,
                ))
            rel(_iface(first.ref, str(first.interface)), _iface(second.ref, str(second.interface)), attrs)
            rel(first.ref, second.ref, attrs)
    return items, links


def _far_end(neighbor: Neighbor, scanned: DeviceResult | None) -> _End:
    if scanned is not None and scanned.ref is not None:
        return _End(scanned.key, scanned.ref, scanned.ports.resolve(neighbor.remote_port))
    return _End(neighbor.key, neighbor.ref, neighbor.remote_port.name)
