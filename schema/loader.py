"""Load and validate the declarative catalog into a :class:`Schema`.

A broken catalog fails here, at load, with an error naming the class (or
relationship, or source) and the attribute at fault.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from schema.model import (
    Aging,
    AttributeDef,
    AttrType,
    CIClass,
    Dependency,
    IdentifierRule,
    ImpactDirection,
    MinUp,
    NetworkSpec,
    Normaliser,
    Redundancy,
    RelationshipType,
    SourceDef,
    Strength,
)
from schema.registry import Schema


class SchemaError(ValueError):
    """The catalog is inconsistent; the message names the class and attribute."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"schema error in {where}: {problem}")
        self.where = where
        self.problem = problem


_CLASS_KEYS = {
    "parent", "abstract", "family", "description", "attributes",
    "identifiers", "dependent_on", "redundancy", "aging", "generic",
}
_STRING_STEPS = frozenset(Normaliser) - {Normaliser.VOCABULARY}
_WEAKEST = (Strength.LOCATOR, Strength.NAME, Strength.STRONG)  # weakest first


def _normalise_steps(where: str, raw: Any, attr_type: AttrType,
                     vocabularies: dict[str, dict[str, str]]) -> tuple[tuple[Normaliser, str | None], ...]:
    if raw is None:
        return ()
    listed = raw if isinstance(raw, list) else [raw]
    if listed and attr_type is not AttrType.STRING:
        raise SchemaError(where, f"normalise applies to string attributes, not {attr_type.value}")
    steps: list[tuple[Normaliser, str | None]] = []
    for step in listed:
        if isinstance(step, dict) and set(step) == {"vocabulary"}:
            vocabulary = str(step["vocabulary"])
            if vocabulary not in vocabularies:
                raise SchemaError(where, f"vocabulary {vocabulary!r} is not declared under 'vocabularies'")
            steps.append((Normaliser.VOCABULARY, vocabulary))
            continue
        try:
            normaliser = Normaliser(step)
        except ValueError:
            allowed = ", ".join(sorted(n.value for n in _STRING_STEPS))
            raise SchemaError(where, f"unknown normaliser {step!r} (allowed: {allowed}, {{vocabulary: NAME}})") from None
        if normaliser is Normaliser.VOCABULARY:
            raise SchemaError(where, "vocabulary needs a name: {vocabulary: NAME}")
        steps.append((normaliser, None))
    return tuple(steps)


def _attr_def(owner: str, name: str, raw: Any, vocabularies: dict[str, dict[str, str]] | None = None) -> AttributeDef:
    where = f"class {owner!r}, attribute {name!r}"
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise SchemaError(where, f"expected a type name or a mapping, got {raw!r}")
    unknown = set(raw) - {"type", "description", "indexed", "identity", "normalise", "sensitive", "volatile"}
    if unknown:
        raise SchemaError(where, f"unknown keys {sorted(unknown)}")
    try:
        attr_type = AttrType(raw.get("type"))
    except ValueError:
        allowed = ", ".join(t.value for t in AttrType)
        raise SchemaError(where, f"unknown type {raw.get('type')!r} (allowed: {allowed})") from None
    identity: Strength | None = None
    if raw.get("identity") is not None:
        try:
            identity = Strength(raw["identity"])
        except ValueError:
            allowed = ", ".join(s.value for s in Strength)
            raise SchemaError(where, f"unknown identity strength {raw['identity']!r} (allowed: {allowed})") from None
    steps = _normalise_steps(where, raw.get("normalise"), attr_type, vocabularies or {})
    sensitive = raw.get("sensitive", False)
    if not isinstance(sensitive, bool):
        raise SchemaError(where, f"sensitive must be true or false, got {sensitive!r}")
    volatile = raw.get("volatile", False)
    if not isinstance(volatile, bool):
        raise SchemaError(where, f"volatile must be true or false, got {volatile!r}")
    if volatile and sensitive:
        raise SchemaError(where, "a sensitive attribute is never stored: it cannot be volatile too")
    return AttributeDef(name, attr_type, str(raw.get("description", "")), bool(raw.get("indexed", False)),
                        identity, steps, sensitive, volatile)


def _vocabularies(raw: Any) -> dict[str, dict[str, str]]:
    """``{vocabulary: {canonical: [synonym, ...]}}`` -> ``{vocabulary: {lower-case synonym or canonical: canonical}}``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SchemaError("vocabularies", "must map a vocabulary name to {canonical term: [synonyms]}")
    out: dict[str, dict[str, str]] = {}
    for name, terms in raw.items():
        where = f"vocabulary {name!r}"
        if not isinstance(terms, dict):
            raise SchemaError(where, "must map each canonical term to a list of synonyms")
        mapping: dict[str, str] = {}
        for canonical, synonyms in terms.items():
            for term in [canonical, *(synonyms or [])]:
                key = str(term).strip().casefold()
                if mapping.get(key, canonical) != canonical:
                    raise SchemaError(where, f"{term!r} is a synonym of both {mapping[key]!r} and {canonical!r}")
                mapping[key] = str(canonical)
        out[str(name)] = mapping
    return out


def _rule(where: str, index: int, raw: Any, owner: str, attributes: dict[str, AttributeDef]) -> IdentifierRule:
    scope: list[Any] = []
    if isinstance(raw, dict):
        unknown = set(raw) - {"attributes", "scope"}
        if unknown:
            raise SchemaError(where, f"identifier rule {index} has unknown keys {sorted(unknown)}")
        scope = raw.get("scope") or []
        raw = raw.get("attributes")
    if not isinstance(raw, list) or not raw or not isinstance(scope, list):
        raise SchemaError(where, f"identifier rule {index} must be a non-empty list of attributes "
                                 "or {attributes: [...], scope: [...]}")
    for attr_name in [*raw, *scope]:
        if attr_name not in attributes:
            raise SchemaError(f"{where}, attribute {attr_name!r}", f"identifier rule {index} names an undeclared attribute")
    strengths = []
    for attr_name in raw:
        strength = attributes[attr_name].identity
        if strength is None:
            raise SchemaError(f"{where}, attribute {attr_name!r}",
                              f"identifier rule {index} names it: declare its identity (strong, name or locator)")
        strengths.append(strength)
    weakest = min(strengths, key=_WEAKEST.index)
    return IdentifierRule(owner, index, tuple(raw), tuple(scope), weakest)


def _aging(where: str, raw: Any, base: Aging) -> Aging:
    if raw is None:
        return base
    if not isinstance(raw, dict):
        raise SchemaError(where, "aging must be a mapping")
    merged: dict[str, object] = {
        "stale_after_runs": base.stale_after_runs,
        "retire_after_runs": base.retire_after_runs,
        "ttl_days": base.ttl_days,
    }
    for key, value in raw.items():
        if key not in merged:
            raise SchemaError(where, f"unknown aging key {key!r}")
        merged[key] = value
    ttl = merged["ttl_days"]
    aging = Aging(int(str(merged["stale_after_runs"])), int(str(merged["retire_after_runs"])),
                  None if ttl is None else float(str(ttl)))
    if not 1 <= aging.stale_after_runs <= aging.retire_after_runs:
        raise SchemaError(where, "aging needs 1 <= stale_after_runs <= retire_after_runs")
    return aging


def build_schema(document: dict[str, Any]) -> Schema:
    """Validate a parsed catalog document and derive every class's effective definition."""
    raw_classes: dict[str, dict[str, Any]] = document.get("classes") or {}
    raw_rels: dict[str, dict[str, Any]] = document.get("relationships") or {}
    raw_sources: dict[str, dict[str, Any]] = document.get("sources") or {}
    default_aging = _aging("defaults", (document.get("defaults") or {}).get("aging"), Aging())
    vocabularies = _vocabularies(document.get("vocabularies"))

    for name, raw in raw_classes.items():
        if not isinstance(raw, dict):
            raise SchemaError(f"class {name!r}", "definition must be a mapping")
        unknown = set(raw) - _CLASS_KEYS
        if unknown:
            raise SchemaError(f"class {name!r}", f"unknown keys {sorted(unknown)}")
        parent = raw.get("parent")
        if parent is not None and parent not in raw_classes:
            raise SchemaError(f"class {name!r}", f"parent {parent!r} is not a declared class")

    def ancestors_of(name: str) -> tuple[str, ...]:
        chain: list[str] = []
        seen = {name}
        current = raw_classes[name].get("parent")
        while current is not None:
            if current in seen:
                raise SchemaError(f"class {name!r}", f"inheritance cycle through {current!r}")
            seen.add(current)
            chain.append(current)
            current = raw_classes[current].get("parent")
        return tuple(chain)

    rel_names = set(raw_rels)
    classes: dict[str, CIClass] = {}
    # Resolve parents before children.
    order = sorted(raw_classes, key=lambda n: len(ancestors_of(n)))
    for name in order:
        raw = raw_classes[name]
        where = f"class {name!r}"
        ancestors = ancestors_of(name)
        parent_cls = classes[ancestors[0]] if ancestors else None

        attributes = dict(parent_cls.attributes) if parent_cls else {}
        for attr_name, attr_raw in (raw.get("attributes") or {}).items():
            inherited = parent_cls.attributes.get(attr_name) if parent_cls else None
            definition = _attr_def(name, attr_name, attr_raw, vocabularies)
            if inherited is not None and definition.type != inherited.type:
                raise SchemaError(f"{where}, attribute {attr_name!r}", "redefines an inherited attribute with another type")
            attributes[attr_name] = definition

        rules = list(parent_cls.identifiers) if parent_cls else []
        own_rules = raw.get("identifiers") or []
        if not isinstance(own_rules, list):
            raise SchemaError(where, "identifiers must be a list of attribute lists")
        for i, rule in enumerate(own_rules):
            rules.append(_rule(where, i, rule, name, attributes))
        identity_root = parent_cls.identity_root if parent_cls and parent_cls.identifiers else name
        if own_rules and parent_cls and parent_cls.identifiers:
            identity_root = parent_cls.identity_root
        abstract = bool(raw.get("abstract", False))
        if not rules and not abstract:
            raise SchemaError(where, "a concrete class needs at least one identifier rule")

        dependency = parent_cls.dependency if parent_cls else None
        dep_raw = raw.get("dependent_on")
        if dep_raw is not None:
            rel = dep_raw.get("relationship") if isinstance(dep_raw, dict) else None
            parents = dep_raw.get("parents") if isinstance(dep_raw, dict) else None
            if rel not in rel_names:
                raise SchemaError(f"{where}, attribute 'dependent_on'", f"relationship {rel!r} is not declared")
            if not parents or any(p not in raw_classes for p in parents):
                raise SchemaError(f"{where}, attribute 'dependent_on'", f"parents {parents!r} must be declared classes")
            dependency = Dependency(str(rel), tuple(parents))

        redundancy = parent_cls.redundancy if parent_cls else None
        red_raw = raw.get("redundancy")
        if red_raw is not None:
            rels = tuple(red_raw.get("relationships") or ())
            for rel in rels:
                if rel not in rel_names:
                    raise SchemaError(f"{where}, attribute 'redundancy'", f"relationship {rel!r} is not declared")
            try:
                min_up = MinUp.parse(red_raw.get("min_up", "1"))
            except ValueError as exc:
                raise SchemaError(f"{where}, attribute 'min_up'", str(exc)) from None
            redundancy = Redundancy(rels, min_up)

        aging = _aging(where, raw.get("aging"), parent_cls.aging if parent_cls else default_aging)
        family = str(raw.get("family") or (parent_cls.family if parent_cls else "ci"))
        classes[name] = CIClass(
            name=name,
            parent=ancestors[0] if ancestors else None,
            abstract=abstract,
            description=str(raw.get("description", "")),
            attributes=attributes,
            identifiers=tuple(rules),
            identity_root=identity_root,
            dependency=dependency,
            redundancy=redundancy,
            aging=aging,
            family=family,
            ancestors=ancestors,
            generic=bool(raw.get("generic", False)),
        )
        if classes[name].generic and abstract:
            raise SchemaError(where, "a generic class is one a CI can carry: it cannot be abstract")

    relationships: dict[str, RelationshipType] = {}
    for name, raw in raw_rels.items():
        where = f"relationship {name!r}"
        if not name.isupper():
            raise SchemaError(where, "relationship type names are UPPER_SNAKE_CASE")
        ends: dict[str, tuple[str, ...]] = {}
        for end in ("from", "to"):
            listed = tuple(raw.get(end) or ())
            if not listed:
                raise SchemaError(f"{where}, attribute {end!r}", "must list at least one class")
            for cls in listed:
                if cls not in classes:
                    raise SchemaError(f"{where}, attribute {end!r}", f"class {cls!r} is not declared")
            ends[end] = listed
        try:
            impact = ImpactDirection(raw.get("impact"))
        except ValueError:
            raise SchemaError(f"{where}, attribute 'impact'", f"unknown impact direction {raw.get('impact')!r}") from None
        set_raw = raw.get("set_attributes") or []
        if not isinstance(set_raw, list) or not all(isinstance(a, str) and a for a in set_raw):
            raise SchemaError(f"{where}, attribute 'set_attributes'", f"must be a list of attribute names, got {set_raw!r}")
        relationships[name] = RelationshipType(name, str(raw.get("description", "")), ends["from"], ends["to"], impact,
                                               frozenset(set_raw))

    sources: dict[str, SourceDef] = {}
    for name, raw in raw_sources.items():
        where = f"source {name!r}"
        may_create = tuple(raw.get("may_create") or ())
        for cls in may_create:
            if cls != "*" and cls not in classes:
                raise SchemaError(f"{where}, attribute 'may_create'", f"class {cls!r} is not declared")
        try:
            sources[name] = SourceDef(name, int(raw["priority"]), float(raw["staleness_days"]), may_create)
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(where, f"needs numeric priority and staleness_days ({exc})") from None

    return Schema(classes, relationships, sources, vocabularies,
                  _network(document.get("network"), classes, relationships))


_NETWORK_KEYS = {"links", "attachments", "addresses", "containment", "uplinks", "hosts", "interfaces", "devices"}


def _network(raw: Any, classes: dict[str, CIClass], relationships: dict[str, RelationshipType]) -> NetworkSpec:
    """The ``network:`` section: which relationships are connectivity and what an uplink is."""
    if raw is None:
        return NetworkSpec()
    if not isinstance(raw, dict):
        raise SchemaError("network", "must be a mapping")
    unknown = set(raw) - _NETWORK_KEYS
    if unknown:
        raise SchemaError("network", f"unknown keys {sorted(unknown)}")

    def rels(key: str) -> tuple[str, ...]:
        names = tuple(raw.get(key) or ())
        for name in names:
            if name not in relationships:
                raise SchemaError(f"network, attribute {key!r}", f"relationship {name!r} is not declared")
            if key == "links" and relationships[name].impact is not ImpactDirection.NONE:
                raise SchemaError(f"network, attribute {key!r}", f"link {name!r} must carry impact: none")
        return names

    def class_list(where: str, value: Any) -> tuple[str, ...]:
        names = tuple(value or ())
        for name in names:
            if name not in classes:
                raise SchemaError(f"network, attribute {where!r}", f"class {name!r} is not declared")
        return names

    uplinks = raw.get("uplinks") or {}
    if not isinstance(uplinks, dict) or set(uplinks) - {"classes", "attribute"}:
        raise SchemaError("network, attribute 'uplinks'", "must be a mapping of classes and attribute")
    attribute = str(uplinks.get("attribute") or "uplink")
    containment = raw.get("containment")
    if containment is not None and containment not in relationships:
        raise SchemaError("network, attribute 'containment'", f"relationship {containment!r} is not declared")
    return NetworkSpec(
        links=rels("links"), attachments=rels("attachments"), addresses=rels("addresses"),
        containment=None if containment is None else str(containment),
        uplink_classes=class_list("uplinks", uplinks.get("classes")), uplink_attribute=attribute,
        host_classes=class_list("hosts", raw.get("hosts")), interface_classes=class_list("interfaces", raw.get("interfaces")),
        device_classes=class_list("devices", raw.get("devices")),
    )


def load_schema(path: Path | None = None) -> Schema:
    """Load a catalog file; without a path, the bundled catalog (cached)."""
    if path is None:
        return _bundled()
    with open(path, encoding="utf-8") as handle:
        return build_schema(yaml.safe_load(handle) or {})


@lru_cache(maxsize=1)
def _bundled() -> Schema:
    text = resources.files("schema").joinpath("catalog.yaml").read_text(encoding="utf-8")
    return build_schema(yaml.safe_load(text) or {})
