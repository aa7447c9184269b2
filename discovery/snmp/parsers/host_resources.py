"""HOST-RESOURCES-MIB: running software and storage of hosts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, text

SW_APPLICATION = 4


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    path: str | None
    count: int


@dataclass(frozen=True)
class StorageInfo:
    mount_point: str
    size_mb: int | None
    used_mb: int | None
    network: bool


def parse_processes(values: Mapping[Oid, Value]) -> list[ProcessInfo]:
    """Distinct application processes by name (kernel threads, without a path, left out).

    Parameters (hrSWRunParameters) are never read: command lines carry secrets.
    """
    by_name: dict[str, tuple[str | None, int]] = {}
    for _, row in sorted(rows(oids.HR_SW_RUN, values).items()):
        name, path = text(row.get(2)), text(row.get(4))
        run_type = integer(row.get(6))
        if not name or not path or (run_type is not None and run_type != SW_APPLICATION):
            continue
        first_path, count = by_name.get(name, (path, 0))
        by_name[name] = (first_path, count + 1)
    return [ProcessInfo(n, p, c) for n, (p, c) in sorted(by_name.items())]


def parse_storage(values: Mapping[Oid, Value]) -> list[StorageInfo]:
    """Fixed and network disks (RAM, swap and virtual memory left out)."""
    out: list[StorageInfo] = []
    for _, row in sorted(rows(oids.HR_STORAGE, values).items()):
        kind = row.get(2)
        if kind not in (oids.HR_STORAGE_FIXED_DISK, oids.HR_STORAGE_NETWORK_DISK):
            continue
        mount = text(row.get(3))
        unit, size, used = integer(row.get(4)), integer(row.get(5)), integer(row.get(6))
        if not mount:
            continue
        mib = 1024 * 1024
        out.append(StorageInfo(
            mount_point=mount,
            size_mb=size * unit // mib if unit and size is not None else None,
            used_mb=used * unit // mib if unit and used is not None else None,
            network=kind == oids.HR_STORAGE_NETWORK_DISK,
        ))
    return out
