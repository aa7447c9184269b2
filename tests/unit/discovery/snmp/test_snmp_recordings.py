"""Real device recordings (snmpsim-data) parsed offline into the neighbours their
LLDP and CDP tables hold. Exact sets: (protocol, local interface, neighbour, remote interface)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb.observation import ObservedRelation
from discovery.snmp import oids, snmprec
from discovery.snmp.build import BuildContext, DeviceResult, DeviceWalk, build_device
from discovery.snmp.links import link_relations

RECORDINGS = Path(__file__).parents[4] / "tests" / "data" / "snmp" / "recordings"
CTX = BuildContext(scope="recordings", observed_at=1)


def parse(name: str) -> DeviceResult:
    records = snmprec.load(RECORDINGS / f"{name}.snmprec")
    walk = DeviceWalk("192.0.2.10", {o: records[o] for o in oids.SCALARS if o in records}, records)
    return build_device(walk, BuildContext(scope="recordings", observed_at=1))


def neighbours(result: DeviceResult) -> set[tuple[str, str, str, str | None]]:
    return {(n.protocol, n.local_interface, n.key, n.remote_interface) for n in result.neighbors}


def test_cisco_c3560_cdp_cache() -> None:
    result = parse("cisco-c3560")
    assert (result.ci_class, result.identity) == ("switch", (
        ("chassis_id", "e8:04:62:78:f2:00"), ("serial_number", "FOC1408Z61U"), ("sys_name", "dumsys-04")))
    assert neighbours(result) == {
        ("cdp", "GigabitEthernet0/49", "old-shitang-wireless", "GigabitEthernet0/2"),
        ("cdp", "GigabitEthernet0/50", "blade-wireless", "GigabitEthernet0/1"),
        ("cdp", "GigabitEthernet0/50", "kexuehuitang", "GigabitEthernet0/1"),
        ("cdp", "GigabitEthernet0/50", "ranqilou", "GigabitEthernet0/25"),
        ("cdp", "GigabitEthernet0/50", "xingzhenglou-1", "GigabitEthernet0/1"),
        ("cdp", "GigabitEthernet0/50", "zichanchu", "GigabitEthernet0/1"),
        ("cdp", "GigabitEthernet0/50", "zonghefuwulou-xiaochan", "GigabitEthernet0/1"),
        ("cdp", "GigabitEthernet0/51", "new-shitang-wireless", "GigabitEthernet0/25"),
        ("cdp", "GigabitEthernet0/52", "shitang02", "GigabitEthernet0/52"),
    }


def test_juniper_mx960_lldp_with_non_utf8_names() -> None:
    result = parse("juniper-mx960-12-3r6-6")
    assert result.ci_class == "router"  # "mx960 internet router", although sysServices says layer 2 too
    assert result.identity == (("chassis_id", "a8:d0:e5:f6:17:c0"), ("sys_name", "dumsys-17"))
    assert neighbours(result) == {
        ("lldp", "ge-0/0/0", "snnu-yt-agg-bgq-tjb-0", "Ten-GigabitEthernet1/0/28"),
        ("lldp", "ge-0/1/3", "\\xcd\\xe2\\xca\\xc2\\xc2\\xa5-s5800", "Ten-GigabitEthernet1/0/28"),
        ("lldp", "ge-0/1/4", "\\xc5\\xe0\\xd1\\xb5\\xd1\\xa7\\xd4\\xba-s5800", "Ten-GigabitEthernet1/0/28"),
        ("lldp", "ge-0/1/5", "\\xd1\\xa7\\xd7\\xd3\\xca\\xb3\\xb8\\xae", "Ten-GigabitEthernet1/0/27"),
        ("lldp", "ge-0/1/6", "sd-5800", "GigabitEthernet1/0/49"),
        ("lldp", "ge-1/0/0", "tushuguan", "GigabitEthernet1/0/25"),
        ("lldp", "ge-1/0/1", "\\xb3\\xf6\\xb0\\xe6\\xc9\\xe7-s5800", "Ten-GigabitEthernet1/0/28"),
        ("lldp", "ge-1/0/2", "xingzhenglou", "Ten-GigabitEthernet1/0/28"),
        ("lldp", "ge-1/0/5", "h3c-5800out", "Ten-GigabitEthernet1/0/25"),
        ("lldp", "ge-1/1/7", "snnu-yt-core-jsq-36-1", "GigabitEthernet2/0/1"),
        # Juniper peers send a local port number: it names no interface here, and the port's
        # description ("Connect to SNNU-YT-CORE-1::xe-0/2/0") never names one either
        ("lldp", "xe-0/2/0", "re0-snnu-yt-core-2", None),
        ("lldp", "xe-1/2/0", "re0-snnu-ca-core-1", None),
        ("lldp", "xe-1/2/1", "yjs-xuesheng-7506e", "Ten-GigabitEthernet2/0/1"),
    }


def test_arista_7150s_lldp() -> None:
    result = parse("arista-dcs-7150s-52-cl")
    assert result.identity == (("chassis_id", "00:1c:73:b4:fd:69"), ("serial_number", "JPE15151458"),
                               ("sys_name", "dumsys-87"))
    assert neighbours(result) == {
        ("lldp", "Ethernet47", "zj-bp-bak-arista", "Ethernet23"),
        ("lldp", "Ethernet48", "zj-bp-bak-arista", "Ethernet24"),
    }
    # both links go to one neighbour CI, identified by its chassis id and name
    assert {n.ref.identifiers["chassis_id"] for n in result.neighbors} == {"44:4c:a8:31:3e:df"}


def test_hpe_procurve_lldp_and_cdp_including_binary_device_ids() -> None:
    result = parse("hpe-procurve-516733-b21")
    assert result.identity == (("chassis_id", "ac:16:2d:92:7d:21"), ("serial_number", "3C421900TX"),
                               ("sys_name", "dumsys-64"))
    assert neighbours(result) == {
        # ProCurve's CDP names non-Cisco neighbours by a binary MAC: identified as a chassis id
        ("cdp", "8", "e8:39:35:1a:ca:99", None), ("cdp", "15", "e8:39:35:1a:3c:65", None),
        ("cdp", "16", "e8:39:35:1a:ca:91", None),
        ("cdp", "17", "8c:60:4f:19:16:3a", "Ethernet1/19"), ("cdp", "17", "nwpu-ca-5548-01", "Ethernet1/19"),
        # LLDP port ids that are MACs without description name no interface: device-level link only
        ("lldp", "8", "e8:39:35:1a:ca:99", None), ("lldp", "15", "e8:39:35:1a:3c:65", None),
        ("lldp", "16", "e8:39:35:1a:ca:91", None),
        # NX-OS: a name under subtype local; two rows, one under a chassis id "NWPU-CA-5548-01(SSI183706KP)"
        # (CDP's form: known by that serial and name), one under its port's MAC, to which CDP on the
        # same port by the same name adds the serial
        ("lldp", "17", "nwpu-ca-5548-01", "Ethernet1/19"),
    }
    assert sorted(tuple(sorted(n.ref.identifiers.items())) for n in result.neighbors
                  if n.protocol == "lldp" and n.local_interface == "17") == [
        (("chassis_id", "8c:60:4f:19:16:3a"), ("serial_number", "SSI183706KP"), ("sys_name", "nwpu-ca-5548-01")),
        (("serial_number", "SSI183706KP"), ("sys_name", "nwpu-ca-5548-01"))]


def test_cisco_n5000_lldp_and_cdp_agree() -> None:
    result = parse("cisco-n5000")
    found = neighbours(result)
    cdp = {(local, key, remote) for proto, local, key, remote in found if proto == "cdp"}
    lldp = {(local, key, remote) for proto, local, key, remote in found if proto == "lldp"}
    assert cdp == {
        ("Ethernet1/21", "nwpu-ca-5548-02", "Ethernet1/21"), ("Ethernet1/22", "nwpu-ca-5548-02", "Ethernet1/22"),
        ("Ethernet1/23", "nwpu-ucs-fi-a", "Ethernet1/25"), ("Ethernet1/24", "nwpu-ucs-fi-b", "Ethernet1/25"),
        ("mgmt0", "nwpu-ca-5548-02", "mgmt0"),
    }
    assert cdp <= lldp  # every CDP neighbour is also in LLDP, with the same ports
    assert lldp - cdp == {
        ("Ethernet1/1", "h3c-1", "Ten-GigabitEther"), ("Ethernet1/2", "h3c-2", "Ten-GigabitEther"),
        ("Ethernet1/9", "h3c", "Ten-GigabitEther"),
        # the ProCurve sends its port as a local number: kept as a port id, no interface named "17"
        ("Ethernet1/19", "procurve 6120xg blade switch", None),
    }


@pytest.mark.parametrize("name", ["cisco-c3560", "juniper-mx960-12-3r6-6", "arista-dcs-7150s-52-cl",
                                  "hpe-procurve-516733-b21", "cisco-n5000"])
def test_links_have_one_direction_and_interfaces_belong_to_their_devices(name: str) -> None:
    result = parse(name)
    rels = [i for i in link_relations([result], CTX)[0] if isinstance(i, ObservedRelation) and i.type == "CONNECTS_TO"]
    keys = {(r.from_ci.model_dump_json(), r.to_ci.model_dump_json()) for r in rels}
    assert not any((b, a) in keys for a, b in keys)
    assert result.problems == []
