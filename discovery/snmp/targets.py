"""Targets: seed addresses and CIDR ranges with exclusions, the credentials to try on
each, and the ranges a neighbour crawl may enter.

A targets file (YAML)::

    scope: lab                 # the scan scope (one scan run)
    network_scope: global      # addressing scope of the ip_address CIs
    dns_domain: dc1.example.com  # optional: the domain of a device whose sysName is a short name
    port: 161
    targets:
      - seeds: [10.0.0.1, "10.0.0.2:1161"]
        credentials: [core-v3, lab-v2]      # names in the credentials file, tried in order
      - cidr: 10.0.1.0/28
        exclude: [10.0.1.0/30]
        credentials: [lab-v2]
    crawl: {enabled: true, ranges: [10.0.0.0/16], max_depth: 2, credentials: [lab-v2]}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from discovery.snmp.client import Endpoint

MAX_RANGE_HOSTS = 65536

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetError(ValueError):
    """A targets file that cannot be used."""


@dataclass(frozen=True)
class TargetEntry:
    seeds: tuple[Endpoint, ...] = ()
    cidrs: tuple[Network, ...] = ()
    exclude: tuple[Network, ...] = ()
    credentials: tuple[str, ...] = ()

    def endpoints(self, port: int) -> Iterator[tuple[Endpoint, bool]]:
        """(endpoint, is_seed): seeds first, then every host address of each range not excluded."""
        for seed in self.seeds:
            if not self.excluded(seed.host):
                yield seed, True
        for net in self.cidrs:
            hosts = net.hosts() if net.num_addresses > 2 else iter(net)
            for host in hosts:
                if not self.excluded(str(host)):
                    yield Endpoint(str(host), port), False

    def excluded(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.exclude)

    def covers(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self.cidrs) and not self.excluded(host)


@dataclass(frozen=True)
class Crawl:
    enabled: bool = False
    ranges: tuple[Network, ...] = ()
    max_depth: int = 2
    credentials: tuple[str, ...] = ()

    def allows(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return self.enabled and any(ip in net for net in self.ranges)


@dataclass(frozen=True)
class Targets:
    scope: str
    entries: tuple[TargetEntry, ...]
    port: int = 161
    network_scope: str = "global"
    crawl: Crawl = field(default_factory=Crawl)
    # The site's DNS domain (a resolver's search domain): a Net-SNMP host's sysName is its short
    # name, which is unique only within its domain; without one it could be any same-named host.
    dns_domain: str | None = None

    def initial(self) -> list[tuple[Endpoint, tuple[str, ...], bool]]:
        """(endpoint, credential names, is_seed) for every starting address, de-duplicated.

        One address under different credentials stays two targets: an SNMPv3 context
        (or a community) may select a different virtual device on the same agent.
        """
        seen: set[tuple[str, int, tuple[str, ...]]] = set()
        out: list[tuple[Endpoint, tuple[str, ...], bool]] = []
        for entry in self.entries:
            for endpoint, is_seed in entry.endpoints(self.port):
                key = (endpoint.host, endpoint.port, entry.credentials)
                if key not in seen:
                    seen.add(key)
                    out.append((endpoint, entry.credentials, is_seed))
        return out

    def credentials_for(self, host: str) -> tuple[str, ...]:
        """Credentials for a crawled address: the first range covering it, else the crawl's."""
        for entry in self.entries:
            if entry.covers(host):
                return entry.credentials
        return self.crawl.credentials


def _endpoint(text: str, port: int) -> Endpoint:
    text = str(text).strip()
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        return Endpoint(host, int(rest.lstrip(":")) if rest else port)
    if text.count(":") == 1:
        host, port_text = text.split(":")
        return Endpoint(host, int(port_text))
    return Endpoint(text, port)


def _network(text: Any, where: str) -> Network:
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError as exc:
        raise TargetError(f"{where}: {exc}") from None


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TargetError(f"{where}: credentials must be a name or a list of names")


def parse_targets(raw: dict[str, Any], default_scope: str = "snmp") -> Targets:
    """Validate a decoded targets document."""
    if not isinstance(raw, dict):
        raise TargetError("targets must be a mapping")
    port = int(raw.get("port", 161))
    entries: list[TargetEntry] = []
    for i, item in enumerate(raw.get("targets") or []):
        where = f"targets[{i}]"
        if isinstance(item, str):
            item = {"cidr": item} if "/" in item else {"seeds": [item]}
        if not isinstance(item, dict):
            raise TargetError(f"{where}: must be a mapping, an address or a CIDR")
        cidrs = [item["cidr"]] if "cidr" in item else list(item.get("cidrs") or [])
        nets = tuple(_network(c, where) for c in cidrs)
        for net in nets:
            if net.num_addresses > MAX_RANGE_HOSTS:
                raise TargetError(f"{where}: range {net} is larger than {MAX_RANGE_HOSTS} addresses")
        entry_port = int(item.get("port", port))
        entries.append(TargetEntry(
            seeds=tuple(_endpoint(s, entry_port) for s in item.get("seeds") or []),
            cidrs=nets,
            exclude=tuple(_network(e, where) for e in item.get("exclude") or []),
            credentials=_names(item.get("credentials"), where),
        ))
    if not entries:
        raise TargetError("no targets")
    crawl_raw = raw.get("crawl") or {}
    crawl = Crawl(
        enabled=bool(crawl_raw.get("enabled", bool(crawl_raw))),
        ranges=tuple(_network(r, "crawl.ranges") for r in crawl_raw.get("ranges") or []),
        max_depth=int(crawl_raw.get("max_depth", 2)),
        credentials=_names(crawl_raw.get("credentials"), "crawl"),
    )
    return Targets(
        scope=str(raw.get("scope") or default_scope),
        entries=tuple(entries),
        port=port,
        network_scope=str(raw.get("network_scope", "global")),
        crawl=crawl,
        dns_domain=str(raw.get("dns_domain") or "").strip().rstrip(".").lower() or None,
    )


def load_targets(path: Path | str) -> Targets:
    with open(path, encoding="utf-8") as handle:
        return parse_targets(yaml.safe_load(handle) or {}, default_scope=Path(path).stem)
