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
from cmdb.normalise import normalise
from cmdb.storable import INT_MAX, INT_MIN, check_storable
from schema import AttrType, CIClass, IdentifierRule, Schema, Strength

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


class Identity:
    """What a class's identification checks besides its keys, compiled once per class.

    ``strong``: the attributes that never move to another thing; two sides that both
    carry one with different values are two things. ``names``: the name attributes its
    rules use, which a locator match (an if_index, an address) must not contradict.
    ``rules``: each rule by its key prefix (``device#4``), for its strength and scope.
    """

    __slots__ = ("cls", "names", "rules", "schema", "separating", "strong")

    def __init__(self, schema: Schema, cls: CIClass) -> None:
        self.schema = schema
        self.cls = cls
        self.strong = tuple(n for n, a in cls.attributes.items() if a.identity is Strength.STRONG)
        ruled = {attr for rule in cls.identifiers for attr in rule.attributes}
        self.names = tuple(n for n in sorted(ruled) if cls.attributes[n].identity is Strength.NAME)
        scopes = {attr for rule in cls.identifiers for attr in rule.scope}
        # What keeps two CIs apart (never merged): a strong identifier, or a name's scope.
        self.separating = self.strong + tuple(sorted(scopes - set(self.strong)))
        # The class's rules, its ancestors' included: the only keys it is asked about are keys_for(cls)'s.
        self.rules = {f"{rule.owner}#{rule.index}": rule for rule in cls.identifiers}

    def checks(self, incoming: Mapping[str, Any]) -> bool:
        """Whether a match of ``incoming`` could be refused by some rule: two strong identifiers, or a scope value."""
        strong = 0
        for attr in self.strong:
            if incoming.get(attr) is not None:
                strong += 1
        return strong > 1 or any(incoming.get(attr) is not None for attr in self.separating[len(self.strong):])

    def normalised(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` normalised as the class declares (a reference's identifiers)."""
        out = dict(values)
        normalise(self.schema, self.cls, out)
        return out

    def refuses(self, rule: IdentifierRule, incoming: Mapping[str, Any], held: Mapping[str, Any]) -> bool:
        """Whether a match through ``rule`` of ``held`` (a CI's values) by ``incoming`` is another thing.

        A strong identifier present on both sides disagrees; a scope attribute of the
        rule present on both sides disagrees (the same name in another domain); or, for
        a locator rule, a name the class identifies by disagrees (a reused if_index).
        """
        if contradicts(incoming, held, self.strong):
            return True
        if rule.scope and contradicts(incoming, held, rule.scope):
            return True
        return rule.strength is Strength.LOCATOR and contradicts(incoming, held, self.names)

    def needs_values(self, rule: IdentifierRule, incoming: Mapping[str, Any]) -> bool:
        """Whether :meth:`refuses` could refuse anything: ``incoming`` carries a value the rule does not compare."""
        own = rule.attributes
        for attr in self.strong:
            if attr not in own and incoming.get(attr) is not None:
                return True
        if any(incoming.get(attr) is not None for attr in rule.scope):
            return True
        return rule.strength is Strength.LOCATOR and any(
            attr not in own and incoming.get(attr) is not None for attr in self.names)


_IDENTITIES: dict[int, tuple[Schema, CIClass, Identity]] = {}


def identity(schema: Schema, cls: CIClass) -> Identity:
    """The class's :class:`Identity`, built once (asked once per observation)."""
    entry = _IDENTITIES.get(id(cls))
    if entry is None or entry[1] is not cls or entry[0] is not schema:
        entry = _IDENTITIES[id(cls)] = (schema, cls, Identity(schema, cls))
    return entry[2]


def contradicts(a: Mapping[str, Any], b: Mapping[str, Any], attributes: tuple[str, ...]) -> bool:
    """Whether any of ``attributes`` is present on both sides with values that differ once normalised."""
    for attr in attributes:
        x = a.get(attr)
        if x is None:
            continue
        y = b.get(attr)
        if y is None or x == y:
            continue
        if _normalise(x) != _normalise(y):
            return True
    return False


# Values that describe many things alike (a state, a count, a time): agreeing on them corroborates nothing.
_NOT_CORROBORATING = frozenset({"status", "name", "uptime_s", "cpu_count", "memory_mb", "architecture", "os_name",
                                "os_version", "kernel", "vendor", "description", "sys_descr", "mtu", "oper_status",
                                "admin_status", "speed_mbps", "version", "environment", "owner"})


def corroborating(candidates: list[Any], values: Mapping[str, Any], ident: Identity) -> Any | None:
    """Among CIs one name denotes that something separates, the one ``values`` agree with best, if one
    alone does: its other identifying-ish values (the address the scanner reached it at, its
    management IP, its MAC) are the same as the observation's.

    Only values present on both sides count; a value that disagrees counts against. None when no
    candidate is corroborated more than every other (the caller then falls back to its own rule).
    """
    keyed = {a for rule in ident.cls.identifiers for a in rule.attributes}
    best: Any = None
    best_score = 0
    tied = False
    for ci in candidates:
        held = ci.attributes
        score = 0
        for attr, value in values.items():
            if attr in keyed or attr in _NOT_CORROBORATING or attr in ident.separating:
                continue
            other = held.get(attr)
            if other is None or value is None or isinstance(value, (dict, list)) or isinstance(other, (dict, list)):
                continue
            score += 1 if _normalise(value) == _normalise(other) else -1
        if score > best_score:
            best, best_score, tied = ci, score, False
        elif score == best_score and score > 0:
            tied = True
    return None if tied else best


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
            whole = int(value)
            # check_storable saw the value as given: "9" * 30 or 1e300 only overflows once converted,
            # and would then fail the store's encoder, and with it the whole batch.
            if not INT_MIN <= whole <= INT_MAX:
                raise TypeError("integer beyond 64 bits")
            return whole
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
            try:
                json.dumps(value, allow_nan=False)  # must be JSON
            except ValueError:
                json.dumps(value)  # what else it refuses (a circular reference) keeps its own message
                # NaN and the infinities, which JSON has not: stored as null, unlike what was given,
                # the same batch again recorded an update each time.
                raise ValueError("NaN or an infinity is not JSON") from None
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
