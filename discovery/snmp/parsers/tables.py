"""Turning a walked subtree into rows: ``{index: {column: value}}``."""

from __future__ import annotations

from collections.abc import Mapping

from discovery.snmp.oids import Table
from discovery.snmp.values import Oid, Value

Rows = dict[Oid, dict[int, Value]]


def rows(table: Table, values: Mapping[Oid, Value]) -> Rows:
    """Group the varbinds under ``table.entry`` by row index (the OID after the column)."""
    entry = table.entry
    n = len(entry)
    out: Rows = {}
    for key, value in values.items():
        if len(key) <= n + 1 or key[:n] != entry:
            continue
        out.setdefault(key[n + 1 :], {})[key[n]] = value
    return out
