"""Ten rounds of enterprise churn: what happens to the real estate between scans.

Every case the identity issue lists happens here, a few times per round, chosen
by the estate's seeded random generator: rebuilds under the same name, switches
replaced under the same sysName, EC2 instances replaced on the same private
address, ifIndex reuse, new servers cabled before the SSH inventory lists them,
decommissions and mere unreachability.
"""

from __future__ import annotations

import dataclasses

from bench.fidelity.truth import SITES, Addr, Estate, Host, Iface, Link, NetDevice

HOST_LOCAL = ("172.17.0.1", "192.168.122.1")


def rebuild(estate: Estate, old: Host) -> Host:
    """The same name, a fresh OS: a new machine-id, the same address and switch port."""
    for tid in estate.host_things(old):
        estate.kill(tid)
    new = estate.new_host(old.site, old.kind, old.short, old.domain) if old.kind != "ec2" else None
    assert new is not None
    # Keep its network identity: the address thing and the cabling of the machine it replaces.
    new.ifaces[0].addrs = [Addr(a.tid, a.address, a.prefix, a.subnet) for a in old.ifaces[0].addrs]
    new.ifaces[0].name = old.ifaces[0].name
    new.register_fqdn = old.register_fqdn
    for case in estate.HOST_CASES:  # a rebuilt host stands for the rebuild case alone
        estate.cases.get(case, set()).difference_update({new.tid, *(svc.tid for svc in new.services)})
    new.inventory_name = old.inventory_name
    if new.uplink is not None:  # new_host cabled it to a free port: take the old one instead
        estate.links = [lk for lk in estate.links if lk.b != new.tid]
        new.uplink = None
    if old.uplink is not None:
        estate.links = [lk for lk in estate.links if lk.b != old.tid]
        estate.links.append(Link(old.uplink[0], old.uplink[1], new.tid, new.ifaces[0].name))
        new.uplink = old.uplink
        new.lldpd = old.lldpd
    return new


def decommission(estate: Estate, host: Host) -> None:
    for tid in estate.host_things(host):
        estate.kill(tid)
    for iface in host.ifaces:
        for addr in iface.addrs:
            estate.kill(addr.tid)
    estate.links = [lk for lk in estate.links if lk.b != host.tid]


def replace_switch(estate: Estate, old: NetDevice) -> NetDevice:
    """A failed switch swapped for a new unit: same sysName and configuration, new serial and MACs."""
    estate.kill(old.tid)
    for port in old.ports:
        estate.kill(port.tid)
    new_tid = estate.thing(old.kind)
    ports = []
    for port in old.ports:
        addrs = [dataclasses.replace(a) for a in port.addrs]
        ports.append(Iface(estate.thing("port"), port.name, estate.mac(), port.if_index, addrs, port.descr))
    serial = "FOC" + estate.hexid(8).upper()
    new = NetDevice(new_tid, old.kind, old.site, old.sysname, serial, estate.mac(), ports, old.mgmt,
                    stack_serials=(serial, *old.stack_serials[1:]) if old.stack_serials else (),
                    truncates=old.truncates, model=old.model)
    estate.devices[new_tid] = new
    for link in estate.links:
        if link.a == old.tid:
            link.a = new_tid
        if link.b == old.tid:
            link.b = new_tid
    for host in estate.hosts.values():
        if host.uplink is not None and host.uplink[0] == old.tid:
            host.uplink = (new_tid, host.uplink[1])
    return new


def reuse_if_index(estate: Estate, device: NetDevice) -> None:
    """After a module swap and a reboot, a new interface takes an old one's ifIndex."""
    linked = {lk.a_port for lk in estate.links if lk.a == device.tid} | {lk.b_port for lk in estate.links
                                                                         if lk.b == device.tid}
    for i, port in enumerate(device.ports):
        if port.name.startswith("Gi") and port.name not in linked and not port.addrs:
            estate.kill(port.tid)
            n = sum(1 for p in device.ports if p.name.startswith("Te")) + 1
            device.ports[i] = Iface(estate.thing("port"), f"Te1/1/{n}", estate.mac(), port.if_index,
                                    descr=f"TenGigabitEthernet1/1/{n}")
            estate.tag("ifIndex reused by a new interface", port.tid, device.ports[i].tid)
            return


def replace_instance(estate: Estate, old: Host) -> Host:
    """Terminated, and a new instance of the same group got its private address (and host name)."""
    for tid in estate.host_things(old):
        estate.kill(tid)
    vpc = estate.vpcs[old.site]
    return estate.new_instance(vpc, old.primary.addrs[0].address)


def apply_round(estate: Estate, rnd: int) -> None:
    """Move the estate to round ``rnd`` (2..10)."""
    estate.round = rnd
    rng = estate.rng
    log = estate.events.setdefault(rnd, [])
    onprem = [h for h in estate.live_hosts() if h.kind != "ec2"]
    cloud = [h for h in estate.live_hosts() if h.kind == "ec2"]
    for host in rng.sample(onprem, 2):
        new = rebuild(estate, host)
        estate.tag("rebuilt under the same name", host.tid, new.tid)
        log.append(f"rebuilt {host.fqdn}")
    onprem = [h for h in estate.live_hosts() if h.kind != "ec2" and estate.things[h.tid].born < rnd]
    for host in rng.sample(onprem, 2):
        decommission(estate, host)
        estate.tag("decommissioned", *estate.host_things(host))
        log.append(f"decommissioned {host.fqdn}")
    for host in rng.sample(cloud, 2):
        new = replace_instance(estate, host)
        estate.tag("new EC2 instance on a terminated one's private IP", host.tid, new.tid)
        log.append(f"replaced {host.instance_id} on {host.primary.addrs[0].address}")
    cloud = [h for h in estate.live_hosts() if h.kind == "ec2" and estate.things[h.tid].born < rnd]
    victim = rng.choice(cloud)
    decommission(estate, victim)
    estate.tag("decommissioned", *estate.host_things(victim))
    log.append(f"terminated {victim.instance_id}")
    if rnd in (3, 6, 9):
        switch = rng.choice([d for d in estate.live_devices() if d.sysname.startswith("acc")])
        new_switch = replace_switch(estate, switch)
        estate.tag("switch replaced under the same sysName", switch.tid, new_switch.tid)
        log.append(f"replaced switch {switch.sysname}")
    if rnd in (2, 5, 8):
        device = rng.choice([d for d in estate.live_devices() if d.kind == "switch"])
        reuse_if_index(estate, device)
        log.append(f"ifIndex reused on {device.sysname}")
    for site in SITES:  # racked and cabled now, in the SSH inventory from next round
        host = estate.new_host(site, "server", f"{site}-new{rnd:02d}", lldpd=True, truncating=False)
        host.ssh_from = rnd + 1
        estate.tag("LLDP neighbour first, SSH next round", host.tid)
        log.append(f"new server {host.fqdn} (SSH from round {rnd + 1})")
    if rnd == 4:  # another short name in both domains
        for site in SITES:
            estate.tag("same short name in two domains", estate.new_host(site, "vm", "batch90").tid)
        log.append("batch90 in both domains")
    if rnd == 4:  # silent for five rounds, never gone: it must not retire
        estate.silent = rng.choice([h for h in estate.live_hosts() if h.kind != "ec2" and not h.snmp_agent]).tid
        log.append(f"{estate.hosts[estate.silent].fqdn} unreachable for rounds 4-8")
    down = {h.tid for h in rng.sample(estate.live_hosts(), 3)}
    if 4 <= rnd <= 8 and estate.silent and estate.alive(estate.silent):
        down.add(estate.silent)
    if rnd in (3, 7):
        down.add(rng.choice(estate.live_devices()).tid)
    estate.unreachable[rnd] = down
    estate.tag("unreachable, not gone", *down)
    log.append(f"{len(down)} unreachable this round")
