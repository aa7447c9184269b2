"""Builders of small networks as the SNMP and SSH scanners report them, for the network-layer tests.

A cable is what LLDP/CDP give: ``port -[CONNECTS_TO]-> port`` plus ``device
-[CONNECTS_TO]-> device``, ports inside their devices (``CONTAINS``). A host seen
behind a switch port is ``port -[SEEN_BEHIND]-> address`` and ``host interface
-[HAS_ADDRESS]-> address``. A host's stack is host > software > application >
business service.
"""

from __future__ import annotations

from tests.unit.impact.impact_graphs import Graph


class Net(Graph):
    def device(self, uid: str, ci_class: str = "switch", *, uplink: bool | None = None) -> Net:
        self.ci(uid, ci_class)
        if uplink is not None:
            row = self.nodes[uid]
            self.nodes[uid] = row._replace(uplink=uplink)
        return self

    def port(self, device: str, name: str) -> str:
        uid = f"{device}/{name}"
        if uid not in self.nodes:
            self.ci(uid, "interface", name=name)
            self.rel(device, "CONTAINS", uid)
        return uid

    def cable(self, a: str, pa: str, b: str, pb: str) -> Net:
        """A link as LLDP reports it, from the smaller end (both the port and the device edge)."""
        ia, ib = self.port(a, pa), self.port(b, pb)
        (s, ps), (t, pt) = sorted([(a, ia), (b, ib)])
        self.rel(ps, "CONNECTS_TO", pt).rel(s, "CONNECTS_TO", t)
        return self

    def host(self, uid: str, service: str | None = None) -> Net:
        """A host with software, an application and (optionally) a business service on top."""
        self.ci(uid, "physical_server")
        self.ci(f"{uid}-sw", "software_instance").rel(uid, "CONTAINS", f"{uid}-sw")
        self.ci(f"{uid}-app", "application").rel(f"{uid}-app", "RUNS_ON", f"{uid}-sw")
        if service is not None:
            if service not in self.nodes:
                self.ci(service, "business_service")
            self.rel(service, "DEPENDS_ON", f"{uid}-app")
        return self

    def seen_behind(self, switch: str, port: str, host: str, nic: str = "eth0", *, via: str = "fdb") -> Net:
        """The host's address learned behind a switch port (FDB 0.9 or ARP 0.7 confidence)."""
        ip = f"ip-{host}-{nic}"
        if ip not in self.nodes:
            self.ci(ip, "ip_address")
            self.rel(self.port(host, nic), "HAS_ADDRESS", ip)
        self.rel(self.port(switch, port), "SEEN_BEHIND", ip, method="traffic", confidence=0.9 if via == "fdb" else 0.7)
        return self
