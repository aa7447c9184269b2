"""Numeric OIDs the scanner reads. No MIB is compiled at run time.

Each table is named once here; the collector walks them and the parsers read the
columns by number, so the two sides cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

Oid = tuple[int, ...]


def oid(text: str) -> Oid:
    """``"1.3.6.1"`` -> ``(1, 3, 6, 1)``."""
    return tuple(int(part) for part in text.strip(".").split("."))


def dotted(value: Oid) -> str:
    return ".".join(str(part) for part in value)


# ---- SNMPv2-MIB system group (scalars, read with one GET) ----------------------
SYS_DESCR = oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = oid("1.3.6.1.2.1.1.3.0")
SYS_CONTACT = oid("1.3.6.1.2.1.1.4.0")
SYS_NAME = oid("1.3.6.1.2.1.1.5.0")
SYS_LOCATION = oid("1.3.6.1.2.1.1.6.0")
SYS_SERVICES = oid("1.3.6.1.2.1.1.7.0")
LLDP_LOC_CHASSIS_SUBTYPE = oid("1.0.8802.1.1.2.1.3.1.0")
LLDP_LOC_CHASSIS_ID = oid("1.0.8802.1.1.2.1.3.2.0")
LLDP_LOC_SYS_NAME = oid("1.0.8802.1.1.2.1.3.3.0")
HR_SYSTEM_UPTIME = oid("1.3.6.1.2.1.25.1.1.0")

SCALARS: tuple[Oid, ...] = (
    SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION, SYS_SERVICES,
    LLDP_LOC_CHASSIS_SUBTYPE, LLDP_LOC_CHASSIS_ID, LLDP_LOC_SYS_NAME, HR_SYSTEM_UPTIME,
)


@dataclass(frozen=True)
class Table:
    """A conceptual table: its entry OID and the column numbers the parsers read."""

    name: str
    entry: Oid
    columns: tuple[int, ...]

    def column_oids(self) -> list[Oid]:
        return [(*self.entry, column) for column in self.columns]


IF_TABLE = Table("ifTable", oid("1.3.6.1.2.1.2.2.1"), (2, 3, 4, 5, 6, 7, 8))
IF_X_TABLE = Table("ifXTable", oid("1.3.6.1.2.1.31.1.1.1"), (1, 15, 18))
ENT_PHYSICAL = Table("entPhysicalTable", oid("1.3.6.1.2.1.47.1.1.1.1"), (2, 4, 5, 7, 10, 11, 12, 13))
IP_ADDR_TABLE = Table("ipAddrTable", oid("1.3.6.1.2.1.4.20.1"), (2, 3))
IP_ADDRESS_TABLE = Table("ipAddressTable", oid("1.3.6.1.2.1.4.34.1"), (3, 4, 5))
LLDP_LOC_PORT = Table("lldpLocPortTable", oid("1.0.8802.1.1.2.1.3.7.1"), (2, 3, 4))
LLDP_REM = Table("lldpRemTable", oid("1.0.8802.1.1.2.1.4.1.1"), (4, 5, 6, 7, 8, 9, 10, 12))
LLDP_REM_MAN_ADDR = Table("lldpRemManAddrTable", oid("1.0.8802.1.1.2.1.4.2.1"), (3,))
CDP_CACHE = Table("cdpCacheTable", oid("1.3.6.1.4.1.9.9.23.1.2.1.1"), (3, 4, 5, 6, 7, 8))
IP_NET_TO_MEDIA = Table("ipNetToMediaTable", oid("1.3.6.1.2.1.4.22.1"), (2, 4))
IP_NET_TO_PHYSICAL = Table("ipNetToPhysicalTable", oid("1.3.6.1.2.1.4.35.1"), (4, 6, 7))
DOT1D_BASE_PORT = Table("dot1dBasePortTable", oid("1.3.6.1.2.1.17.1.4.1"), (2,))
DOT1D_TP_FDB = Table("dot1dTpFdbTable", oid("1.3.6.1.2.1.17.4.3.1"), (2, 3))
DOT1Q_TP_FDB = Table("dot1qTpFdbTable", oid("1.3.6.1.2.1.17.7.1.2.2.1"), (2, 3))
HR_SW_RUN = Table("hrSWRunTable", oid("1.3.6.1.2.1.25.4.2.1"), (2, 4, 6))
HR_STORAGE = Table("hrStorageTable", oid("1.3.6.1.2.1.25.2.3.1"), (2, 3, 4, 5, 6))

DEVICE_TABLES: tuple[Table, ...] = (
    IF_TABLE, IF_X_TABLE, ENT_PHYSICAL, IP_ADDR_TABLE, IP_ADDRESS_TABLE, LLDP_LOC_PORT,
    LLDP_REM, LLDP_REM_MAN_ADDR, CDP_CACHE, IP_NET_TO_MEDIA, IP_NET_TO_PHYSICAL, DOT1D_BASE_PORT, DOT1D_TP_FDB,
    DOT1Q_TP_FDB,
)
HOST_TABLES: tuple[Table, ...] = (HR_SW_RUN, HR_STORAGE)
ALL_TABLES: tuple[Table, ...] = DEVICE_TABLES + HOST_TABLES
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in ALL_TABLES}

HR_STORAGE_FIXED_DISK = oid("1.3.6.1.2.1.25.2.1.4")
HR_STORAGE_NETWORK_DISK = oid("1.3.6.1.2.1.25.2.1.10")
