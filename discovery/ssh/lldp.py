"""lldpd's view, read over SSH: ``lldpcli -f json show chassis`` and ``show neighbors`` (pure parsers).

A host running lldpd advertises a chassis id (usually one of its NICs' MACs) and
its name to its switch, which reports it as an LLDP neighbour; nothing else the
host says carries that chassis id. Read here, it identifies the host as the switch
sees it, and the neighbours lldpd hears are the switch ports the host is plugged into.

lldpcli's JSON nests one level less when there is one element: ``interface`` is an
object keyed by interface name for one interface and a list of such objects for
several; a chassis is keyed by its name, or holds ``id`` directly when it has none;
``mgmt-ip`` is a string or a list. Both shapes are read.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from typing import Any

from discovery.ssh.facts import LldpChassis, LldpNeighborFact

# Port id types whose value names an interface; a MAC or a local number names it through the description.
_NAMING_PORT_TYPES = frozenset({"ifname", "ifalias", "local"})


def _items(node: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) pairs of an object, or of each object of a list of objects."""
    if isinstance(node, dict):
        yield from node.items()
    elif isinstance(node, list):
        for element in node:
            if isinstance(element, dict):
                yield from element.items()


def _value(node: Any) -> str | None:
    """A leaf that lldpcli may give as a string, a list of strings or ``{"value": ...}``."""
    if isinstance(node, dict):
        node = node.get("value")
    if isinstance(node, list):
        node = next((v for v in node if isinstance(v, (str, dict))), None)
        return _value(node)
    if isinstance(node, str):
        return node.strip() or None
    return None


def _chassis(node: Any) -> tuple[str | None, dict[str, Any]]:
    """(system name, the chassis's fields) of a ``chassis`` object, named or not."""
    if isinstance(node, list):
        node = node[0] if node and isinstance(node[0], dict) else {}
    if not isinstance(node, dict):
        return None, {}
    if "id" in node and isinstance(node["id"], (dict, list)):
        name = _value(node.get("name"))
        return name, node
    for name, fields in node.items():
        if isinstance(fields, dict):
            return name.strip() or None, fields
    return None, {}


def _chassis_id(fields: dict[str, Any]) -> str | None:
    ident = fields.get("id")
    if isinstance(ident, list):
        ident = ident[0] if ident else None
    if not isinstance(ident, dict):
        return _value(ident)
    value = _value(ident.get("value"))
    if value is not None and ident.get("type") == "mac":
        value = value.lower()
    return value


def _management_ip(fields: dict[str, Any]) -> str | None:
    addresses = fields.get("mgmt-ip")
    for candidate in addresses if isinstance(addresses, list) else [addresses]:
        text = _value(candidate)
        if text is None:
            continue
        try:
            if not ipaddress.ip_address(text).is_link_local:
                return text
        except ValueError:
            continue
    return None


def _top(text: str, key: str) -> Any:
    """The document's ``key`` section (the first, when lldpcli gives a list); ValueError if not a JSON object."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    section = doc.get(key)
    if isinstance(section, list):
        section = section[0] if section else {}
    return section


def parse_lldp_chassis(text: str) -> LldpChassis | None:
    """``lldpcli -f json show chassis`` -> the local chassis id and name; None when lldpd knows none."""
    local = _top(text, "local-chassis")
    if not isinstance(local, dict):
        return None
    name, fields = _chassis(local.get("chassis"))
    chassis_id = _chassis_id(fields)
    if chassis_id is None and name is None:
        return None
    return LldpChassis(chassis_id=chassis_id, name=name)


def parse_lldp_neighbors(text: str) -> list[LldpNeighborFact]:
    """``lldpcli -f json show neighbors`` -> one fact per neighbour heard by LLDP, per local interface."""
    lldp = _top(text, "lldp")
    if not isinstance(lldp, dict):
        return []
    out: list[LldpNeighborFact] = []
    for local_name, entry in _items(lldp.get("interface")):
        if not isinstance(entry, dict) or str(entry.get("via", "LLDP")).upper() != "LLDP":
            continue  # CDP/EDP/SONMP heard by lldpd: another protocol's names and ids
        name, fields = _chassis(entry.get("chassis"))
        chassis_id = _chassis_id(fields)
        if chassis_id is None and name is None:
            continue
        port = entry.get("port")
        port_name = None
        if isinstance(port, list):
            port = port[0] if port else {}
        if isinstance(port, dict):
            ident = port.get("id")
            descr = _value(port.get("descr"))
            value = _value(ident) if isinstance(ident, dict) else None
            kind = ident.get("type") if isinstance(ident, dict) else None
            if kind in _NAMING_PORT_TYPES and value is not None and not (kind == "local" and value.isdigit()):
                port_name = value
            else:
                port_name = descr or (value if kind != "mac" else None)
        out.append(LldpNeighborFact(
            local_interface=local_name, chassis_id=chassis_id, sys_name=name, port=port_name,
            management_ip=_management_ip(fields), sys_descr=_value(fields.get("descr")),
        ))
    return out
