"""Identification: attribute validation against the schema and identification keys.

A key names one value of one identifier rule, scoped to the rule's owner class
(its subtree is searched) and, for dependent classes, to the parent CI:
``device#2|<parent uid>|<machine id>`` (values of a multi-attribute rule are
joined by the unit separator, which identifiers do not contain). Strings are
compared trimmed and case-folded, so ``Web-01.Example.com`` and
``web-01.example.com`` are one FQDN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from cmdb.errors import InvalidItem
from cmdb.storable import check_storable
from schema import AttrType, CIClass, Schema

_SEP = "\x1f"


def _normalise(value: Any) -> str:
    if type(value) is str:
        return value.strip().casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


# id(class) -> (the class, its compiled rules); the class is kept so that its id
# cannot be reused by another object while the entry exists.
_COMPILED: dict[int, tuple[CIClass, list[tuple[str, tuple[str, ...]]]]] = {}


def _compiled(cls: CIClass) -> list[tuple[str, tuple[str, ...]]]:
    """(key prefix, attributes) per rule of the class, built once (keys_for is on the hot path)."""
    entry = _COMPILED.get(id(cls))
    if entry is None or entry[0] is not cls:
        entry = _COMPILED[id(cls)] = (cls, [(f"{r.owner}#{r.index}|", r.attributes) for r in cls.identifiers])
    return entry[1]


def keys_for(cls: CIClass, values: Mapping[str, Any], parent_uid: str | None) -> list[str]:
    """Keys of every rule of ``cls`` whose attributes are all present, in priority order.

    The rules are compiled once per class: this is on the ingest's hot path.
    """
    keys = []
    scope = f"{parent_uid or ''}|"
    for prefix, attributes in _compiled(cls):
        if len(attributes) == 1:
            value = values.get(attributes[0])
            if value is None or value == "":
                continue
            keys.append(prefix + scope + _normalise(value))
            continue
        parts = []
        for attr in attributes:
            value = values.get(attr)
            if value is None or value == "":
                break
            parts.append(_normalise(value))
        else:
            keys.append(prefix + scope + _SEP.join(parts))
    return keys


def _coerce(attr_type: AttrType, value: Any, field: str) -> Any:
    try:
        if attr_type is AttrType.STRING:
            if isinstance(value, (dict, list)):
                raise TypeError("expected a string")
            return str(value)
        if attr_type is AttrType.INT or attr_type is AttrType.TIMESTAMP:
            if isinstance(value, bool):
                raise TypeError("expected an integer")
            if isinstance(value, float) and not value.is_integer():
                raise TypeError("expected an integer")
            return int(value)
        if attr_type is AttrType.FLOAT:
            if isinstance(value, bool):
                raise TypeError("expected a number")
            number = float(value)
            if math.isnan(number) or math.isinf(number):
                raise TypeError("expected a finite number")
            return number
        if attr_type is AttrType.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "1", "0"}:
                return value.lower() in {"true", "yes", "1"}
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise TypeError("expected a boolean")
        if attr_type is AttrType.STRING_LIST:
            if not isinstance(value, (list, tuple)):
                raise TypeError("expected a list of strings")
            return [str(v) for v in value if v is not None]
        if attr_type is AttrType.JSON:
            json.dumps(value)  # must be serialisable
            return value
    except (TypeError, ValueError) as exc:
        raise InvalidItem(field, f"{exc} for {attr_type.value}, got {value!r}"[:300]) from None
    raise InvalidItem(field, f"unsupported type {attr_type}")


def validate_attributes(cls: CIClass, values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Known attributes of ``cls``, coerced to their declared types; nulls dropped.

    Raises InvalidItem naming ``prefix.attribute`` for an unknown or ill-typed one.
    """
    check_storable(values, prefix)  # what no store can encode is this item's error, not its batch's
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue  # a null never overwrites a value
        definition = cls.attributes.get(name)
        if definition is None:
            raise InvalidItem(f"{prefix}.{name}", f"class {cls.name!r} has no attribute {name!r}")
        attr_type = definition.type
        if type(value) is str and attr_type is AttrType.STRING:
            clean[name] = value  # what _coerce returns for it, without the call and the field name it would build
        else:
            clean[name] = _coerce(attr_type, value, f"{prefix}.{name}")
    return clean


def check_class(schema: Schema, name: str, field: str) -> CIClass:
    cls = schema.classes.get(name)
    if cls is None:
        raise InvalidItem(field, f"unknown CI class {name!r}")
    if cls.abstract:
        raise InvalidItem(field, f"class {name!r} is abstract; use one of its subclasses")
    return cls
