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
from discovery.snmp.device import BuildContext, DeviceResult, Neighbor

LinkKey = tuple[str, str, str, str]  # (device, interface, device, interface) from the smaller end


class _Scanned:
    """The scope's scanned devices, found by what a neighbour report says about them."""

    def __init__(self, results: Iterable[DeviceResult]) -> None:
        self.by: dict[str, dict[str, list[DeviceResult]]] = {}
        self.by_port_mac: dict[str, list[DeviceResult]] = {}
        for result in results:
            if result.ref is None:
                continue
            for kind, value in result.ref.identifiers.items():
                self.by.setdefault(kind, {}).setdefault(str(value), []).append(result)
            for port_mac in result.ports.by_mac:
                self.by_port_mac.setdefault(port_mac, []).append(result)

    def find(self, neighbor: Neighbor) -> DeviceResult | None:
        """The scanned device a neighbour report denotes, or None.

        Strong identifiers first (serial, chassis id); then a chassis id that is the MAC of
        one scanned device's interface *and* names, with the port id sent beside it, that
        same interface (NX-OS advertises each port's MAC as its chassis id); then a name
        only one scanned device has (or, when several have it, the one whose own addresses
        hold the management address sent), never one a strong identifier contradicts.
        """
        ids = {k: str(v) for k, v in neighbor.ref.identifiers.items()}
        for kind in ("serial_number", "chassis_id"):
            found = self._unique(kind, ids)
            if found is not None:
                return found
        by_port = self._by_port_mac(neighbor, ids.get("chassis_id"))
        if by_port is not None:
            return by_port
        for kind in ("fqdn", "sys_name"):
            candidates = [c for c in self.by.get(kind, {}).get(ids.get(kind) or "", []) if not _disagree(c, ids)]
            if len(candidates) > 1:  # a name is weak: a management address of one of them may tell
                candidates = [c for c in candidates if c.own_addresses & set(neighbor.management_addresses)]
            if len(candidates) == 1:
                return candidates[0]
        return None

    def _unique(self, kind: str, ids: dict[str, str]) -> DeviceResult | None:
        candidates = [c for c in self.by.get(kind, {}).get(ids.get(kind) or "", []) if not _disagree(c, ids)]
        return candidates[0] if len(candidates) == 1 else None

    def _by_port_mac(self, neighbor: Neighbor, chassis: str | None) -> DeviceResult | None:
        owners = self.by_port_mac.get(chassis or "", [])
        if len(owners) != 1 or chassis is None:
            return None
        owner = owners[0]
        port = owner.ports.resolve(neighbor.remote_port)
        ids = {k: str(v) for k, v in neighbor.ref.identifiers.items() if k != "chassis_id"}
        if port is None or port not in owner.ports.by_mac[chassis] or _disagree(owner, ids):
            return None
        return owner


def _disagree(result: DeviceResult, ids: dict[str, str]) -> bool:
    """Another thing: a serial, a domain or a chassis id present on both sides that differs.

    A chassis id that is the MAC of one of the device's own interfaces is that device's
    (a per-port chassis id), not a contradiction.
    """
    assert result.ref is not None
    own = result.ref.identifiers
    if any(k in own and k in ids and str(own[k]) != ids[k] for k in ("serial_number", "dns_domain")):
        return True
    chassis = ids.get("chassis_id")
    return chassis is not None and "chassis_id" in own and str(own["chassis_id"]) != chassis \
        and chassis not in result.ports.by_mac


@dataclass(frozen=True)
class _End:
    key: str
    ref: CIRef
    interface: str | None


def _iface(device: CIRef, name: str) -> CIRef:
    return CIRef(ci_class="interface", identifiers={"name": name}, parent=device)


def link_relations(results: list[DeviceResult], ctx: BuildContext) -> tuple[list[Item], set[LinkKey]]:
    """The CONNECTS_TO edges of every reported link, each physical link once, and the link keys.

    Also takes out of its reporter's items the hearsay observation of a neighbour recognised
    as a scanned device although advertised under another chassis id (see ``_Scanned.find``):
    call it before the results' items are ingested.
    """
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
            found = scanned.find(neighbor)
            far = _far_end(neighbor, found)
            if found is not None and _heard_otherwise(neighbor, found):
                # Its own scan describes it; the hearsay, under a chassis id it does not report as its
                # own (a port's MAC), would be refused by that strong id and become a second CI.
                result.items[:] = [i for i in result.items if i is not neighbor.observation]
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


def _heard_otherwise(neighbor: Neighbor, scanned: DeviceResult) -> bool:
    """The neighbour was advertised under a chassis id other than the one it reports itself."""
    assert scanned.ref is not None
    heard = neighbor.ref.identifiers.get("chassis_id")
    own = scanned.ref.identifiers.get("chassis_id")
    return heard is not None and str(heard) != str(own)


def _far_end(neighbor: Neighbor, scanned: DeviceResult | None) -> _End:
    if scanned is not None and scanned.ref is not None:
        return _End(scanned.key, scanned.ref, scanned.ports.resolve(neighbor.remote_port))
    return _End(neighbor.key, neighbor.ref, neighbor.remote_port.name)
