"""The catalog's volatile attributes and set-valued relationship attributes (issue 25 item 3)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schema import SchemaError, build_schema, load_schema

BASE: dict[str, Any] = {
    "sources": {"manual": {"priority": 100, "staleness_days": 1, "may_create": ["*"]}},
    "classes": {
        "ci": {"abstract": True, "attributes": {"name": "string"}},
        "host": {"parent": "ci", "identifiers": [["fqdn"]],
                 "attributes": {"fqdn": {"type": "string", "identity": "name"}, "uptime_s": {"type": "int", "volatile": True}}},
        "vm": {"parent": "host"},
    },
    "relationships": {"LINK": {"from": ["ci"], "to": ["ci"], "impact": "none", "set_attributes": ["protocol"]}},
}


def test_volatile_is_declared_per_attribute_and_inherited() -> None:
    schema = build_schema(BASE)
    assert {n for n, a in schema.cls("vm").attributes.items() if a.volatile} == {"uptime_s"}
    assert schema.rel("LINK").set_attributes == frozenset({"protocol"})


@pytest.mark.parametrize(("path", "value", "message"), [
    (["classes", "host", "attributes", "uptime_s"], {"type": "int", "volatile": "yes"},
     "class 'host', attribute 'uptime_s': volatile must be true or false"),
    (["classes", "host", "attributes", "uptime_s"], {"type": "string", "volatile": True, "sensitive": True},
     "class 'host', attribute 'uptime_s': a sensitive attribute is never stored"),
    (["relationships", "LINK", "set_attributes"], "protocol",
     "relationship 'LINK', attribute 'set_attributes': must be a list of attribute names"),
])
def test_bad_declarations_fail_at_load(path: list[str], value: Any, message: str) -> None:
    doc = copy.deepcopy(BASE)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(SchemaError, match=message):
        build_schema(doc)


def test_bundled_catalog_marks_what_changes_every_scan() -> None:
    schema = load_schema()
    volatile = {(c.name, n) for c in schema.classes.values() if c.parent is not None
                and c.name in {"host", "network_device", "filesystem"} for n, a in c.attributes.items() if a.volatile}
    assert volatile == {("host", "uptime_s"), ("network_device", "uptime_s"), ("filesystem", "used_mb")}
    assert schema.rel("CONNECTS_TO").set_attributes == frozenset({"protocol"})
