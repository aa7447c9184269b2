"""The loaded schema: lookups every other package derives its behaviour from."""

from __future__ import annotations

from dataclasses import dataclass, field

from schema.model import CIClass, NetworkSpec, RelationshipType, SourceDef


class UnknownName(KeyError):
    """A class, relationship type or source that the schema does not declare."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


@dataclass(frozen=True)
class Schema:
    classes: dict[str, CIClass]
    relationships: dict[str, RelationshipType]
    sources: dict[str, SourceDef]
    # vocabulary -> {lower-case term: canonical term} (``normalise: [{vocabulary: NAME}]``)
    vocabularies: dict[str, dict[str, str]] = field(default_factory=dict)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    _subtrees: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    _allowed: dict[tuple[str, str, str], bool] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        subtrees: dict[str, set[str]] = {name: {name} for name in self.classes}
        for cls in self.classes.values():
            for ancestor in cls.ancestors:
                subtrees[ancestor].add(cls.name)
        self._subtrees.update({k: frozenset(v) for k, v in subtrees.items()})

    def cls(self, name: str) -> CIClass:
        try:
            return self.classes[name]
        except KeyError:
            raise UnknownName(f"unknown CI class {name!r}") from None

    def rel(self, name: str) -> RelationshipType:
        try:
            return self.relationships[name]
        except KeyError:
            raise UnknownName(f"unknown relationship type {name!r}") from None

    def source(self, name: str) -> SourceDef:
        try:
            return self.sources[name]
        except KeyError:
            raise UnknownName(f"unknown source {name!r}") from None

    def subtree(self, name: str) -> frozenset[str]:
        """The class and all its descendants."""
        return self._subtrees[name]

    def is_a(self, cls: str, other: str) -> bool:
        return cls in self._subtrees.get(other, frozenset())

    def more_specific(self, current: str, observed: str) -> str:
        """The class a CI should carry when ``observed`` reports on a CI of class ``current``.

        A subclass refines its ancestor (``host`` -> ``cloud_instance``). A *generic*
        class (``generic: true`` in the catalog: an LLDP/CDP neighbour's
        ``network_device``) is refined to any concrete class of its family that is not
        one of its ancestors (``network_device`` -> ``host``). Nothing else changes a
        class: a generic report never downgrades a specific one. Whether the source may
        say so is the caller's question (:meth:`may_create` the new class).
        """
        if observed == current:
            return current
        if self.is_a(observed, current):
            return observed
        held = self.classes.get(current)
        seen = self.classes.get(observed)
        if (held is not None and seen is not None and held.generic and not seen.abstract
                and seen.family == held.family and not held.is_a(observed)):
            return observed
        return current

    def may_create(self, source: str, cls: str) -> bool:
        src = self.sources.get(source)
        if src is None:
            return False
        return any(allowed == "*" or self.is_a(cls, allowed) for allowed in src.may_create)

    def allows(self, rel: str, source_cls: str, target_cls: str) -> bool:
        """Whether ``rel`` may link these classes (answered once per triple: ingest asks per edge)."""
        triple = (rel, source_cls, target_cls)
        allowed = self._allowed.get(triple)
        if allowed is None:
            rtype = self.rel(rel)
            allowed = any(self.is_a(source_cls, c) for c in rtype.sources) and any(
                self.is_a(target_cls, c) for c in rtype.targets
            )
            self._allowed[triple] = allowed
        return allowed

    def concrete(self) -> list[str]:
        return sorted(name for name, cls in self.classes.items() if not cls.abstract)
