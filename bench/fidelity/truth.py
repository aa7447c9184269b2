"""The ground truth: real things of an enterprise estate, built from a seed, independent of cmdb.

A *thing* is one real object (a machine, a port, an address, a zone...). Each has a
stable ``tid`` and a life: the round it appears and, once decommissioned or
replaced, the round from which it no longer exists. The structured objects below
(hosts, network devices, cloud networks, zones) are what the sources render into
the payloads the real scanners parse; the things are what the scorer counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Thing:
    tid: str
    kind: str
    born: int = 1
    died: int | None = None  # first round in which it no longer exists

    def alive(self, rnd: int) -> bool:
        return self.born <= rnd and (self.died is None or rnd < self.died)


@dataclass
class Addr:
    tid: str
    address: str
    prefix: int
    subnet: str  # tid of the subnet thing


@dataclass
class Iface:
    tid: str
    name: str  # as the host (ip addr) or the device (ifName) reports it
    mac: str
    if_index: int
    addrs: list[Addr] = field(default_factory=list)
    descr: str | None = None  # ifDescr, the long form on network devices


@dataclass
class Service:
    tid: str
    product: str  # what ss/ps report through the SSH scanner's vocabulary (the real product)
    process: str  # the process name (ss, ps, hrSWRunName)
    port: int
    path: str


@dataclass
class Child:
    """A filesystem or package of a host."""

    tid: str
    name: str
    extra: str = ""


@dataclass
class Host:
    tid: str
    kind: str  # server | vm | ec2
    site: str  # dc1 | dc2 | a VPC id
    short: str
    domain: str
    machine_id: str
    dmi_uuid: str
    ifaces: list[Iface]
    services: list[Service]
    filesystems: list[Child]
    packages: list[Child]
    inventory: str  # SSH inventory scope
    inventory_name: str  # the target's name in it
    instance_id: str | None = None
    account: str | None = None
    region: str | None = None
    subnet_id: str | None = None
    snmp_agent: bool = False
    lldpd: bool = False  # advertises itself by LLDP to its switch
    uplink: tuple[str, str] | None = None  # (switch tid, switch port name)
    ssh_from: int = 1  # first round the SSH inventory lists it
    register_fqdn: str | None = None  # how the asset register writes its FQDN (None: not listed)
    kernel: str = "5.15.0-91-generic"

    @property
    def fqdn(self) -> str:
        return f"{self.short}.{self.domain}"

    @property
    def primary(self) -> Iface:
        return self.ifaces[0]


@dataclass
class NetDevice:
    tid: str
    kind: str  # switch | router
    site: str
    sysname: str
    serial: str
    chassis_mac: str
    ports: list[Iface]
    mgmt: Addr
    stack_serials: tuple[str, ...] = ()  # member serials of a stack (the stack row has none)
    truncates: bool = False  # its LLDP agent truncates neighbours' names
    model: str = "WS-C3850-48T"


@dataclass
class Esxi:
    tid: str
    name: str
    dmi_uuid: str
    serial: str


@dataclass
class VCenter:
    """One site's vCenter: its datacenter and ESXi hosts; the site's VMs run on them."""

    site: str
    instance_uuid: str
    datacenter: str  # tid of the datacenter thing
    hosts: list[Esxi] = field(default_factory=list)


@dataclass
class Link:
    a: str  # device tid
    a_port: str
    b: str  # device or host tid
    b_port: str


@dataclass
class Vpc:
    tid: str
    vpc_id: str
    account: str
    region: str
    cidr: str
    subnets: list[tuple[str, str, str]]  # (tid, subnet id, cidr)


@dataclass
class Zone:
    tid: str
    zone_id: str
    account: str
    name: str
    private: bool
    vpcs: tuple[str, ...] = ()
    records: list[tuple[str, str, str, str]] = field(default_factory=list)  # (tid, name, type, value)


ACCOUNTS = ("111111111111", "222222222222")
REGION = "us-east-1"
SITES = {"dc1": "east.corp.example.com", "dc2": "west.corp.example.com"}
SITE_NET = {"dc1": 1, "dc2": 2}


class Estate:
    """The real estate, round by round. All randomness comes from ``seed``."""

    def __init__(self, seed: int = 17, scale: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.things: dict[str, Thing] = {}
        self.hosts: dict[str, Host] = {}
        self.devices: dict[str, NetDevice] = {}
        self.links: list[Link] = []
        self.vpcs: dict[str, Vpc] = {}
        self.zones: dict[str, Zone] = {}
        self.unreachable: dict[int, set[str]] = {}  # round -> host/device tids that do not answer
        self.events: dict[int, list[str]] = {}  # round -> what changed (for the report)
        self.silent: str | None = None  # a host that stops answering for five rounds
        self.cases: dict[str, set[str]] = {}  # case of the issue -> the things it involves
        self.round = 1
        self._n = 0
        self._mac = 0x0A0000000000
        self._ifindex = 0
        self._ips: dict[str, int] = {}
        self.site_subnets: dict[str, str] = {}
        self.vcenters: dict[str, VCenter] = {}
        self._build()

    # ---- identities ----------------------------------------------------------------
    def thing(self, kind: str, tid: str | None = None) -> str:
        self._n += 1
        tid = tid or f"{kind}-{self._n}"
        self.things[tid] = Thing(tid, kind, born=self.round)
        return tid

    def tag(self, case: str, *tids: str) -> None:
        self.cases.setdefault(case, set()).update(tids)

    # Cases that are a property of a host: a thing counts for one only when its host has no other
    # (an LLDP-advertising host with a mistyped FQDN says nothing about either alone).
    # Two hosts of one short name are a case whatever else they show (every source meets the name).
    HOST_CASES = ("FQDN with trailing dot or other case", "LLDP advertises the FQDN, SSH the short name",
                  "SNMP process names vs SSH product names", "LLDP neighbour name truncated",
                  "LLDP neighbour first, SSH next round")

    def clean(self, case: str) -> set[str]:
        """The things of ``case`` whose host shows no other host case (all of them for other cases)."""
        for host in self.hosts.values():  # whose LLDP name its switch cuts (at 20 characters)
            switch = self.devices.get(host.uplink[0]) if host.uplink else None
            if host.lldpd and switch is not None and switch.truncates and len(host.fqdn) > 20:
                self.tag("LLDP neighbour name truncated", host.tid)
        tids = self.cases.get(case, set())
        if case not in self.HOST_CASES:
            return tids
        owner = {t: h for h in self.hosts.values() for t in (h.tid, *(svc.tid for svc in h.services))}
        out = set()
        for tid in tids:
            holder = owner.get(tid)
            if holder is None:
                continue
            host = holder
            features = {c for c in self.HOST_CASES if host.tid in self.cases.get(c, ())
                        or any(svc.tid in self.cases.get(c, ()) for svc in host.services)}
            if features & {"LLDP neighbour name truncated", "LLDP neighbour first, SSH next round"}:
                # A truncated or early LLDP neighbour advertises its FQDN too: that is part of its case.
                features.discard("LLDP advertises the FQDN, SSH the short name")
            if features == {case}:
                out.add(tid)
        return out

    def kill(self, tid: str) -> None:
        if self.things[tid].died is None:
            self.things[tid].died = self.round

    def mac(self) -> str:
        self._mac += self.rng.randint(1, 9)
        raw = f"{self._mac:012x}"
        return ":".join(raw[i:i + 2] for i in range(0, 12, 2))

    def hexid(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def uuid(self) -> str:
        h = self.hexid(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".upper()

    def next_ip(self, site: str) -> str:
        self._ips[site] = self._ips.get(site, 9) + 1
        n = self._ips[site]
        return f"10.{SITE_NET[site]}.{n // 250}.{n % 250 + 2}"

    # ---- building ----------------------------------------------------------------------
    def _count(self, n: int) -> int:
        return max(2, round(n * self.scale))

    def _build(self) -> None:
        for site in SITES:
            self.site_subnets[site] = self.thing("subnet", f"subnet-{site}-servers")
            self.site_subnets[f"{site}-mgmt"] = self.thing("subnet", f"subnet-{site}-mgmt")
            self._build_network(site)
        shared = [f"app{i:02d}" for i in range(1, self._count(12) + 1)]  # the same short names in both sites
        for site in SITES:
            for i in range(self._count(28)):
                host = self.new_host(site, "server", shared[i] if i < len(shared) else f"{site}-srv{i:03d}")
                if i < len(shared):
                    self.tag("same short name in two domains", host.tid)
            for i in range(self._count(20)):
                self.new_host(site, "vm", f"{site}-vm{i:03d}")
            # Long names that share their first 20 characters, behind a switch whose LLDP agent truncates.
            for i in range(3):
                host = self.new_host(site, "server", f"{site}-postgres-cluster-{i + 1:02d}", lldpd=True,
                                     truncating=True)
                self.tag("LLDP neighbour name truncated", host.tid)
        self._build_cloud()
        self._build_vcenters(random.Random(f"vcenters-{self.seed}"))

    def _build_vcenters(self, rng: random.Random) -> None:
        """A vCenter per site (its own random stream: the rest of the estate is unchanged by it)."""
        for site in SITES:
            vcenter = VCenter(site, _uuid(rng), self.thing("location", f"datacenter-{site}"))
            for i in range(2):
                vcenter.hosts.append(Esxi(self.thing("esxi"), f"esx{i + 1:02d}.{SITES[site]}", _uuid(rng),
                                          "CZ" + "".join(rng.choice("0123456789ABCDEF") for _ in range(8))))
            self.vcenters[site] = vcenter
        for host in self.hosts.values():
            if host.kind == "vm":
                self.tag("VM known to the hypervisor only by its DMI UUID", host.tid)

    def _build_network(self, site: str) -> None:
        net = SITE_NET[site]
        core = self.new_device(site, "switch", f"core1.{SITES[site]}", ports=8, stacked=False)
        router = self.new_device(site, "router", f"rtr1.{SITES[site]}", ports=4, stacked=False)
        self.links.append(Link(core, self.devices[core].ports[0].name, router, self.devices[router].ports[0].name))
        for i in range(self._count(5)):
            access = self.new_device(site, "switch", f"acc{i + 1}.{SITES[site]}", ports=24, stacked=i % 3 == 0,
                                     truncates=i % 2 == 1)
            self.links.append(Link(access, self.devices[access].ports[-2].name, core,
                                   self.devices[core].ports[1 + i % 7].name))
        del net

    def new_device(self, site: str, kind: str, sysname: str, ports: int, stacked: bool = False,
                   truncates: bool = False) -> str:
        tid = self.thing(kind)
        plist = []
        base = 10000 if kind == "switch" else 1
        for p in range(ports):
            name = f"Gi1/0/{p + 1}" if kind == "switch" else f"Gi0/0/{p}"
            long = ("GigabitEthernet" + name[2:])
            plist.append(Iface(self.thing("port"), name, self.mac(), base + p + 1, descr=long))
        mgmt_ip = f"10.{SITE_NET[site]}.255.{len(self.devices) + 2}"
        mgmt = Addr(self.thing("ip", f"ip-{site}-{mgmt_ip}"), mgmt_ip, 24, self.site_subnets[f"{site}-mgmt"])
        vlan = Iface(self.thing("port"), "Vl1", self.mac(), 5001 if kind == "switch" else 100, [mgmt], descr="Vlan1")
        plist.append(vlan)
        serial = "FOC" + self.hexid(8).upper()
        self.devices[tid] = NetDevice(
            tid, kind, site, sysname, serial, self.mac(), plist, mgmt,
            stack_serials=(serial, "FOC" + self.hexid(8).upper()) if stacked else (),
            truncates=truncates, model="ISR4451-X" if kind == "router" else "WS-C3850-48T",
        )
        return tid

    def free_port(self, site: str, truncating: bool | None = None) -> tuple[str, str] | None:
        """A free access port of the site; on a truncating switch, a plain one, or any (None)."""
        used = {(lk.a, lk.a_port) for lk in self.links}
        for dev in self.devices.values():
            if dev.site != site or not dev.sysname.startswith("acc") or not self.things[dev.tid].alive(self.round):
                continue
            if truncating is not None and dev.truncates != truncating:
                continue
            for port in dev.ports[:-2]:
                if (dev.tid, port.name) not in used:
                    return dev.tid, port.name
        return None

    def new_host(self, site: str, kind: str, short: str, domain: str | None = None, **extra: object) -> Host:
        rng = self.rng
        tid = self.thing("host")
        ifaces: list[Iface] = []
        cloud = kind == "ec2"
        primary_name = "ens5" if cloud else ("eno1" if kind == "server" else "ens192")
        if cloud:
            ip = str(extra.pop("ip"))
            subnet = str(extra.pop("subnet_tid"))
            addr = Addr(self.ip_thing(str(extra["vpc_key"]), ip), ip, 24, subnet)
        else:
            ip = self.next_ip(site)
            addr = Addr(self.ip_thing(site, ip), ip, 22, self.site_subnets[site])
        self._ifindex += 1
        ifaces.append(Iface(self.thing("iface"), primary_name, self.mac(), 2, [addr]))
        if rng.random() < 0.5:  # docker0: the same address on every Docker host
            ifaces.append(Iface(self.thing("iface"), "docker0", self.mac(), 3, [
                Addr(self.thing("ip"), "172.17.0.1", 16, self.thing("subnet"))]))
        if kind == "server" and rng.random() < 0.4:  # libvirt's default network
            ifaces.append(Iface(self.thing("iface"), "virbr0", self.mac(), 4, [
                Addr(self.thing("ip"), "192.168.122.1", 24, self.thing("subnet"))]))
        for iface in ifaces[1:]:
            self.tag("docker0/virbr0 address on many hosts", *(a.tid for a in iface.addrs),
                     *(a.subnet for a in iface.addrs))
        services = [Service(self.thing("service"), "openssh", "sshd", 22, "/usr/sbin/sshd")]
        pick = rng.random()
        if pick < 0.35:
            services.append(Service(self.thing("service"), "postgresql", "postgres", 5432, "/usr/lib/postgresql/14/bin/postgres"))
        elif pick < 0.7:
            services.append(Service(self.thing("service"), "nginx", "nginx", 80, "/usr/sbin/nginx"))
        elif pick < 0.85:
            services.append(Service(self.thing("service"), "redis", "redis-server", 6379, "/usr/bin/redis-server"))
        filesystems = [Child(self.thing("fs"), "/", "/dev/sda1"), Child(self.thing("fs"), "/var", "/dev/sda2")]
        packages = [Child(self.thing("package"), name, version) for name, version in (
            ("openssh-server", "1:8.9p1-3ubuntu0.6"), ("bash", "5.1-6ubuntu1"), ("libc6", "2.35-0ubuntu3.6"))]
        if cloud:
            inventory, inv_name = f"ssh-{extra['vpc_key']}", ip
        else:
            inventory, inv_name = f"ssh-{site}", f"{short}.{domain or SITES[site]}"
        host = Host(
            tid, kind, site, short, domain or SITES[site], self.hexid(32), self.uuid(), ifaces, services, filesystems,
            packages, inventory, inv_name,
            instance_id=extra.get("instance_id"),  # type: ignore[arg-type]
            account=extra.get("account"), region=extra.get("region"), subnet_id=extra.get("subnet_id"),  # type: ignore[arg-type]
        )
        # One flavour per on-premises host, so that each case can be judged on hosts showing it alone:
        # a mistyped register entry, a Net-SNMP agent, or lldpd (servers); forced LLDP hosts get none else.
        flavour = rng.random()
        if extra.get("lldpd"):
            host.lldpd, flavour = True, 1.0
        elif not cloud:
            host.snmp_agent = 0.3 <= flavour < 0.6
            host.lldpd = kind == "server" and flavour >= 0.6
        if not cloud:
            host.register_fqdn = _typed(host.fqdn, flavour < 0.3, rng)
            if host.register_fqdn not in (None, host.fqdn):
                self.tag("FQDN with trailing dot or other case", tid)
        else:
            self.tag("private-IP host name in several VPCs", tid)
        if host.lldpd:
            self.tag("LLDP advertises the FQDN, SSH the short name", tid)
        if host.snmp_agent:
            self.tag("SNMP process names vs SSH product names", *(svc.tid for svc in services))
        if kind == "server":
            wanted = extra.get("truncating")
            port = self.free_port(site, None if wanted is None else bool(wanted)) or self.free_port(site)
            if port is not None:
                host.uplink = port
                self.links.append(Link(port[0], port[1], tid, primary_name))
        self.hosts[tid] = host
        return host

    def ip_thing(self, network: str, address: str) -> str:
        """Addresses are things of their network: reused by a rebuilt host, they stay the same thing."""
        tid = f"ip-{network}-{address}"
        if tid not in self.things:
            self.thing("ip", tid)
        return tid

    def _build_cloud(self) -> None:
        specs = [(ACCOUNTS[0], "vpc-0a1a1a1a"), (ACCOUNTS[0], "vpc-0a2a2a2a"), (ACCOUNTS[1], "vpc-0b1b1b1b")]
        for account in ACCOUNTS:
            self.thing("account", f"account-{account}")
            self.thing("region", f"region-{account}")
        for account, vpc_id in specs:
            subnet_id = "subnet-" + self.hexid(17)
            vpc = Vpc(self.thing("vpc", f"vpc-{vpc_id}"), vpc_id, account, REGION, "10.0.0.0/16",
                      [(self.thing("subnet", f"subnet-{vpc_id}"), subnet_id, "10.0.1.0/24")])
            self.vpcs[vpc_id] = vpc
            for i in range(self._count(16)):
                self.new_instance(vpc, f"10.0.1.{10 + i}")
        self.zones_build()

    def new_instance(self, vpc: Vpc, ip: str) -> Host:
        instance_id = "i-" + self.hexid(17)
        short = "ip-" + ip.replace(".", "-")
        return self.new_host(vpc.vpc_id, "ec2", short, "ec2.internal", ip=ip, subnet_tid=vpc.subnets[0][0],
                             vpc_key=vpc.vpc_id, instance_id=instance_id, account=vpc.account, region=vpc.region,
                             subnet_id=vpc.subnets[0][1])

    def zones_build(self) -> None:
        a, b = ACCOUNTS
        vpc_a = next(v for v in self.vpcs.values() if v.account == a)
        specs = [
            (a, "corp.example.com.", False, ()),  # split horizon: the public view...
            (a, "corp.example.com.", True, (vpc_a.vpc_id,)),  # ...and the private one, same name
            (a, "shared.example.com.", False, ()),  # the same name in two accounts
            (b, "shared.example.com.", False, ()),
        ]
        for account, name, private, vpcs in specs:
            zid = "Z" + self.hexid(12).upper()
            zone = Zone(self.thing("zone", f"zone-{zid}"), zid, account, name, private, vpcs)
            if private:
                for host in self.hosts.values():
                    if host.site == vpc_a.vpc_id:
                        rec = f"{host.short}.{name}"
                        zone.records.append((self.thing("record"), rec, "A", host.primary.addrs[0].address))
            else:
                zone.records.append((self.thing("record"), f"www.{name}", "A", "203.0.113.10"))
                zone.records.append((self.thing("record"), f"api.{name}", "CNAME", f"www.{name}"))
            self.zones[zid] = zone
            self.tag("split-horizon and same-named zones", zone.tid)

    # ---- what exists ---------------------------------------------------------------------
    def alive(self, tid: str, rnd: int | None = None) -> bool:
        return self.things[tid].alive(self.round if rnd is None else rnd)

    def live_hosts(self) -> list[Host]:
        return [h for h in self.hosts.values() if self.alive(h.tid)]

    def live_devices(self) -> list[NetDevice]:
        return [d for d in self.devices.values() if self.alive(d.tid)]

    def host_things(self, host: Host) -> list[str]:
        """The host and everything that is its own (addresses of its network excepted)."""
        out = [host.tid]
        for iface in host.ifaces:
            out.append(iface.tid)
            out.extend(a.tid for a in iface.addrs if a.address in ("172.17.0.1", "192.168.122.1"))
            out.extend(a.subnet for a in iface.addrs if a.address in ("172.17.0.1", "192.168.122.1"))
        out.extend(s.tid for s in host.services)
        out.extend(c.tid for c in host.filesystems + host.packages)
        return out


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _typed(fqdn: str, mistyped: bool, rng: random.Random) -> str | None:
    """How a person typed a host's FQDN into the asset register (a few correct ones are not listed at all)."""
    pick = rng.random()
    if mistyped:
        return fqdn + "." if pick < 0.5 else fqdn.upper()
    return None if pick < 0.2 else fqdn
