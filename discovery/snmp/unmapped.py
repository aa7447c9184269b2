"""Rows a device lists on a port its own tables do not resolve to an interface.

An ARP row on an ifIndex the ifTable lacks, a forwarding-table row on a bridge port
dot1dBasePortTable maps to no ifIndex (a Juniper MX maps every bridge port to 0) or to
an ifIndex the ifTable lacks: real devices report them routinely. They are warnings, not
failures: what the row still proves is kept (an ARP row's address-to-MAC binding), the
port-bound fact (SEEN_BEHIND that port) is not made up, and the device's line, the
scan's ``unmapped`` count and the structured log say how many rows of which table, on
which ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHOWN_PORTS = 8  # a warning names this many ports, then says how many more


@dataclass
class _Group:
    rows: int = 0
    ports: set[tuple[int, str]] = field(default_factory=set)  # (number, label) for a stable order


@dataclass
class UnmappedRows:
    """Per (table, port kind, why, what was kept): how many rows, on which ports."""

    groups: dict[tuple[str, str, str, str], _Group] = field(default_factory=dict)

    def add(self, table: str, port_kind: str, port: int, why: str, kept: str, label: str | None = None) -> None:
        """One row of ``table`` on ``port``; ``label``: how to name the port, if not by its number."""
        group = self.groups.setdefault((table, port_kind, why, kept), _Group())
        group.rows += 1
        group.ports.add((port, label or str(port)))

    @property
    def rows(self) -> int:
        return sum(g.rows for g in self.groups.values())

    def warnings(self) -> list[str]:
        """One sentence per group, e.g. ``dot1qTpFdbTable: 215 rows on bridge ports 1, 13, ... (+5 more):
        no ifIndex in dot1dBasePortTable; dropped``."""
        out: list[str] = []
        for (table, port_kind, why, kept), group in sorted(self.groups.items()):
            ports = sorted(group.ports)
            shown = ", ".join(label for _, label in ports[:SHOWN_PORTS])
            more = f" (+{len(ports) - SHOWN_PORTS} more)" if len(ports) > SHOWN_PORTS else ""
            noun = "row" if group.rows == 1 else "rows"
            kind = f"{port_kind}s" if len(ports) > 1 and port_kind.endswith("port") else port_kind
            out.append(f"{table}: {group.rows} {noun} on {kind} {shown}{more}: {why}; {kept}")
        return out
