"""The lab topology served by snmpsim in the integration tests and the demo.

``generate.py`` writes one ``.snmprec`` per device from the declarative topology
below it; the files are committed so the demo needs no generation step.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

LAB_DIR = Path(__file__).parent


def device_files() -> dict[str, Path]:
    """Device name -> its ``.snmprec`` file."""
    return {p.stem: p for p in sorted(LAB_DIR.glob("*.snmprec"))}


def free_udp_port(hosts: Sequence[str]) -> int:
    """A UDP port free on every one of ``hosts`` (the lab's agents share one port across addresses)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((hosts[0], 0))
            port = int(sock.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no UDP port free on every lab address")
