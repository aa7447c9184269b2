"""Building blocks of the AWS transforms: CI references and a de-duplicating emitter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef, Item, Observation, ObservedRelation, Scalar

SOURCE = "aws"


def ref(ci_class: str, parent: CIRef | None = None, **identifiers: Scalar) -> CIRef:
    """A CI named by its class and identifying attributes."""
    return CIRef(ci_class=ci_class, identifiers=identifiers, parent=parent)


def account_ref(account_id: str) -> CIRef:
    return ref("cloud_account", account_id=account_id)


def region_ref(account_id: str, region: str) -> CIRef:
    return ref("cloud_region", parent=account_ref(account_id), region=region)


def tag_map(tags: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    """AWS ``[{"Key": k, "Value": v}]`` (or lower-case ``key``/``value``) as a dict."""
    result: dict[str, str] = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            result[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return result


def ref_key(target: CIRef) -> tuple[Any, ...]:
    """A hashable key for a reference (CIRef holds a dict, so it is not hashable itself)."""
    parent = ref_key(target.parent) if target.parent is not None else None
    return (target.ci_class, tuple(sorted(target.identifiers.items())), parent)


@dataclass
class Emitter:
    """Collects a scope's items, dropping repeats (the same edge learned from two payloads).

    Edges whose ends are one CI (a group admitting itself) are dropped: ingest rejects them.
    """

    scope: str
    observed_at: int
    cis: list[Item] = field(default_factory=list)
    rels: list[Item] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    _seen: set[Any] = field(default_factory=set)

    @property
    def items(self) -> list[Item]:
        """CIs first, then relationships: ingest resolves an edge's ends against CIs already seen."""
        return [*self.cis, *self.rels]

    def ci(self, target: CIRef, **attributes: Any) -> CIRef:
        """Emit an Observation of ``target`` with the non-null ``attributes``; returns the ref."""
        key = ("ci", ref_key(target))
        if key in self._seen:
            return target
        self._seen.add(key)
        attrs = {k: v for k, v in attributes.items() if v is not None and v != {}}
        attrs.update(target.identifiers)
        self.cis.append(Observation(
            source=SOURCE, scope=self.scope, ci_class=target.ci_class, identifiers=dict(target.identifiers),
            attributes=attrs, parent=target.parent, observed_at=self.observed_at,
        ))
        self.stats[target.ci_class] += 1
        return target

    def rel(self, rel_type: str, source: CIRef, target: CIRef, **attributes: Any) -> None:
        """Emit ``source -[rel_type]-> target`` (declared by the AWS API)."""
        key = ("rel", rel_type, ref_key(source), ref_key(target))
        if key in self._seen or key[2] == key[3]:
            return
        self._seen.add(key)
        self.rels.append(ObservedRelation(
            source=SOURCE, scope=self.scope, type=rel_type, from_ci=source, to_ci=target,
            attributes={k: v for k, v in attributes.items() if v is not None}, observed_at=self.observed_at,
        ))
        self.stats[rel_type] += 1
