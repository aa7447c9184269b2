"""The lab network: one snmpsim agent per recorded device, each on its own 127.0.0.x address.

The recordings (``labs/snmp/*.snmprec``) describe a small campus
network (core, distribution, access switches, a router and a firewall) whose
LLDP/CDP tables name each other's 127.0.0.x management addresses, so a crawl
from the core stays on loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

COMMUNITY = "public"


@dataclass(slots=True)
class NetworkLab:
    """Where the agents listen: device name -> address, one UDP port for all."""

    port: int
    addresses: dict[str, str] = field(default_factory=dict)


def lab_devices() -> dict[str, tuple[Path, str]]:
    """Device name -> (recording, address); empty when the SNMP lab is not installed."""
    try:
        from labs.snmp import device_files
        from labs.snmp.generate import DEVICES
    except ImportError:
        return {}
    return {name: (path, DEVICES[name].address) for name, path in device_files().items() if name in DEVICES}


def _answers(host: str, port: int) -> bool:
    """A bare SNMPv2c GET of sysName.0 with the lab community gets a reply."""
    community = COMMUNITY.encode()
    oid = bytes([0x06, 0x08, 0x2B, 0x06, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00])  # 1.3.6.1.2.1.1.5.0
    varbind = b"\x30" + bytes([len(oid) + 2]) + oid + b"\x05\x00"
    varbinds = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01\x04" + bytes([len(community)]) + community + pdu
    message = b"\x30" + bytes([len(body)]) + body
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(message, (host, port))
            return bool(sock.recv(4096))
        except OSError:
            return False


def start_network_lab(work: Path, record: Callable[[str, int, str], None], timeout_s: float = 60) -> NetworkLab:
    """Start one snmpsim per device; ``record(name, pid, marker)`` is called as each starts."""
    devices = lab_devices()
    if not devices:
        raise RuntimeError("the SNMP lab recordings (labs/snmp) are not installed")
    from labs.snmp import free_udp_port

    port = free_udp_port([address for _, address in devices.values()])
    binary = Path(sys.executable).with_name("snmpsim-command-responder")
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, (recording, address) in devices.items():
        data = work / name / "data"
        data.mkdir(parents=True, exist_ok=True)
        shutil.copy(recording, data / f"{COMMUNITY}.snmprec")
        args = [str(binary), "--v3-engine-id=auto", f"--data-dir={data}", f"--cache-dir={work / name / 'cache'}",
                f"--agent-udpv4-endpoint={address}:{port}"]
        with open(work / name / "snmpsim.log", "wb") as out:
            procs[name] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                           start_new_session=True)
        record(f"snmpsim {name}", procs[name].pid, str(data))
    # The port is bound before the data is indexed: wait until each agent answers.
    deadline = time.monotonic() + timeout_s
    waiting = dict(devices)
    while waiting:
        for name in list(waiting):
            if procs[name].poll() is not None:
                raise RuntimeError(f"snmpsim for {name} exited: "
                                   f"{(work / name / 'snmpsim.log').read_text(errors='replace')[-500:]}")
            if _answers(waiting[name][1], port):
                del waiting[name]
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"snmpsim agents did not answer within {timeout_s:g}s: {', '.join(waiting)}")
        time.sleep(0.2)
    return NetworkLab(port=port, addresses={name: address for name, (_, address) in devices.items()})
