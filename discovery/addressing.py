"""The addressing scope of an address a scanner sees on a host or device (pure).

An address identifies only within its network. Most of a host's addresses belong to
the network the scan was given (a VPC, a VRF, a site: the job's ``network_scope``);
a *host-local* address belongs to its host alone: every Docker host has 172.17.0.1 on
docker0 and every libvirt host 192.168.122.1 on virbr0, and they are not one shared
address. Those are scoped ``host:<id>``, by the host's strongest identity the scanner
knows (SSH: its machine-id), so each host has its own; a short host name is not enough
(same-named hosts in two domains, ``ip-10-0-1-N`` in several VPCs).

Also names a host's DNS domain from what it reports, for the ``sys_name`` rule
(a short name is unique within its domain).
"""

from __future__ import annotations

import functools
import ipaddress
import re

# Interfaces of container and VM bridges and their veth/tap ends: never routed beyond the host.
_HOST_LOCAL_INTERFACE = re.compile(
    r"^(docker\d*|br-[0-9a-f]{6,}|virbr\d+(-nic)?|veth[0-9a-z]*|lxcbr\d+|lxdbr\d+|cni\d+|podman\d+|"
    r"cali[0-9a-f]+|flannel\.\d+|vnet\d+|tap[0-9a-z-]*|kube-bridge|nerdctl\d+)$")
# The default networks of those bridges: an address there with no interface name known
# (an SNMP agent without ifName) is taken as host-local too.
_HOST_LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "172.17.0.0/16",  # docker0
    "192.168.122.0/24",  # libvirt's default virbr0
    "10.0.3.0/24",  # lxcbr0
    "10.88.0.0/16",  # podman / CNI default
))


def host_scope(host_name: str) -> str:
    """The addressing scope of one host's host-local addresses: ``host:`` and what identifies the host."""
    return f"host:{host_name.strip().rstrip('.').lower()}"


@functools.lru_cache(maxsize=8192)
def is_host_local(address: str, interface: str | None = None) -> bool:
    """Loopback, link-local, or on a container/VM bridge (by its interface, else its default network)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_loopback or ip.is_link_local:
        return True
    if interface:
        return bool(_HOST_LOCAL_INTERFACE.match(interface))
    return any(ip in network for network in _HOST_LOCAL_NETWORKS if network.version == ip.version)


def address_scope(address: str, interface: str | None, network_scope: str, host_name: str | None) -> str:
    """``network_scope`` for an address of the scanned network, ``host:<name>`` for a host-local one."""
    if host_name and is_host_local(address, interface):
        return host_scope(host_name)
    return network_scope


def split_name(name: str | None, fqdn: str | None = None) -> tuple[str | None, str | None, str | None]:
    """(short name, DNS domain, FQDN) from a reported host name and, if known, its FQDN.

    ``web-1.prod.example.com`` -> (``web-1``, ``prod.example.com``, ``web-1.prod.example.com``);
    ``web-1`` with FQDN ``web-1.prod.example.com`` -> the same; ``web-1`` alone -> (``web-1``, None, None).
    Lower case, trailing dot dropped.
    """
    clean = (name or "").strip().rstrip(".").lower() or None
    full = (fqdn or "").strip().rstrip(".").lower() or None
    if clean is not None and "." in clean and not _is_address(clean):
        full = full or clean
        clean = clean.split(".", 1)[0]
    if clean is None and full is not None:
        clean = full.split(".", 1)[0]
    domain = None
    if full is not None and "." in full and clean is not None and full.startswith(clean + "."):
        domain = full[len(clean) + 1:]
    elif full is not None and "." in full:
        domain = full.split(".", 1)[1]
    return clean, domain, full


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
