"""Read and write snmpsim ``.snmprec`` files (``OID|TYPE|VALUE`` lines).

Used to parse recorded devices offline with the same parsers the scanner uses, and
to write the lab topology the integration tests and the demo serve with snmpsim.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from pathlib import Path

from discovery.snmp.values import Oid, Value

_INT_TYPES = {"2", "65", "66", "67", "70"}


def parse_line(line: str) -> tuple[Oid, Value] | None:
    """One record -> (oid, value); None for comments, NULLs and variation-module records."""
    line = line.rstrip("\r\n")
    if not line or line.startswith("#"):
        return None
    parts = line.split("|", 2)
    if len(parts) != 3:
        return None
    oid_text, tag, raw = parts
    if ":" in tag:  # variation module: the value is module configuration, not data
        return None
    is_hex = tag.endswith("x")
    tag = tag.rstrip("x")
    try:
        oid = tuple(int(p) for p in oid_text.split("."))
        if tag in _INT_TYPES:
            return oid, int(raw)
        if tag in ("4", "68"):
            return oid, bytes.fromhex(raw) if is_hex else raw.encode("utf-8", errors="surrogateescape")
        if tag == "64":
            return oid, bytes.fromhex(raw) if is_hex else ipaddress.IPv4Address(raw).packed
        if tag == "6":
            return oid, tuple(int(p) for p in raw.split(".")) if raw else ()
    except ValueError:
        return None
    return None


def load(path: Path | str) -> dict[Oid, Value]:
    """All data records of a file."""
    records: dict[Oid, Value] = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            parsed = parse_line(line)
            if parsed is not None:
                records[parsed[0]] = parsed[1]
    return records


def format_record(oid: Oid, value: Value | tuple[str, object]) -> str:
    """One line. ``value`` may be ``(tag, raw)`` to force a type (e.g. ``("64", "10.0.0.1")``)."""
    dotted = ".".join(str(p) for p in oid)
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        return f"{dotted}|{value[0]}|{value[1]}"
    if isinstance(value, bool):
        raise TypeError("booleans have no SNMP type")
    if isinstance(value, int):
        return f"{dotted}|2|{value}"
    if isinstance(value, bytes):
        printable = all(32 <= b < 127 and b != 0x7C for b in value)
        return f"{dotted}|4|{value.decode('ascii')}" if printable else f"{dotted}|4x|{value.hex()}"
    if isinstance(value, tuple):
        return f"{dotted}|6|{'.'.join(str(p) for p in value)}"
    raise TypeError(f"unsupported value {value!r}")


def dump(records: Iterable[tuple[Oid, Value | tuple[str, object]]]) -> str:
    """Records sorted by OID (snmpsim requires it), one per line."""
    return "".join(format_record(o, v) + "\n" for o, v in sorted(records, key=lambda r: r[0]))


def subtree(records: dict[Oid, Value], prefix: Oid) -> Iterator[tuple[Oid, Value]]:
    n = len(prefix)
    for key in sorted(records):
        if key[:n] == prefix:
            yield key, records[key]
