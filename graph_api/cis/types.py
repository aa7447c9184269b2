"""The ``CI`` interface, one concrete type per class family (derived from the catalog),
``Relationship`` with its evidence, neighbours and history entries.

GraphQL types are thin projections of ``cmdb.model`` objects: the domain object
rides along as a private field and related objects load through the request's
DataLoaders.
"""

from __future__ import annotations

import keyword
from enum import Enum
from typing import Annotated, Any, Optional

import strawberry
from graphql import GraphQLAbstractType, GraphQLResolveInfo
from strawberry.types import Info

from cmdb.model import CI as CIModel
from cmdb.model import HistoryEntry as HistoryModel
from cmdb.model import Relationship as RelationshipModel
from cmdb.services.reads import Neighbour as NeighbourModel
from graph_api.context import ApiContext
from graph_api.enums import LIFECYCLE_MEMBER, CIClassName, Direction, Lifecycle, RelationshipTypeName
from graph_api.fields import resolver
from graph_api.loaders import NeighbourKey
from graph_api.scalars import JSON, Long
from schema import AttrType, Schema

MAX_NEIGHBOURS = 500


@strawberry.enum(description="Which way a relationship points, seen from the CI it was listed for.")
class EdgeDirection(Enum):
    OUT = "out"
    IN = "in"


@strawberry.type(description="Where a relationship came from and how much to trust it.")
class Evidence:
    sources: list[str]
    first_seen: Long
    last_seen: Long
    times_seen: int
    method: str
    confidence: float


@strawberry.type(description="A typed, directed relationship `source -[type]-> target`.")
class Relationship:
    uid: strawberry.ID
    type: RelationshipTypeName
    source_uid: strawberry.ID
    target_uid: strawberry.ID
    lifecycle: Lifecycle
    attributes: JSON
    evidence: Evidence

    @resolver(description="The source CI (batched).")
    async def source(self, info: Info[ApiContext, None]) -> Optional[CI]:  # noqa: UP045
        ci = await info.context.loaders.ci.load(str(self.source_uid))
        return ci_type(ci) if ci else None

    @resolver(description="The target CI (batched).")
    async def target(self, info: Info[ApiContext, None]) -> Optional[CI]:  # noqa: UP045
        ci = await info.context.loaders.ci.load(str(self.target_uid))
        return ci_type(ci) if ci else None

    @classmethod
    def of(cls, rel: RelationshipModel) -> Relationship:
        ev = rel.evidence
        return cls(
            uid=strawberry.ID(rel.uid), type=RelationshipTypeName(rel.type),
            source_uid=strawberry.ID(rel.source_uid), target_uid=strawberry.ID(rel.target_uid),
            lifecycle=LIFECYCLE_MEMBER[rel.status], attributes=JSON(rel.attributes),
            evidence=Evidence(sources=list(ev.sources), first_seen=Long(ev.first_seen), last_seen=Long(ev.last_seen),
                              times_seen=ev.times_seen, method=ev.method, confidence=ev.confidence),
        )


@strawberry.type(description="A relationship seen from one CI, with the CI at its other end.")
class Neighbour:
    relationship: Relationship
    direction: EdgeDirection
    other_uid: strawberry.ID

    @resolver(description="The CI at the other end (batched).")
    async def ci(self, info: Info[ApiContext, None]) -> Optional[CI]:  # noqa: UP045
        ci = await info.context.loaders.ci.load(str(self.other_uid))
        return ci_type(ci) if ci else None

    @classmethod
    def of(cls, n: NeighbourModel) -> Neighbour:
        return cls(relationship=Relationship.of(n.relationship),
                   direction=EdgeDirection.OUT if n.outgoing else EdgeDirection.IN,
                   other_uid=strawberry.ID(n.other_uid))


@strawberry.type(description="One recorded change of a CI or relationship.")
class HistoryEntry:
    seq: Long
    subject_uid: strawberry.ID
    subject_kind: str
    action: str
    changes: JSON = strawberry.field(description="attribute -> [before, after]")
    source: str
    run_id: Optional[str]  # noqa: UP045
    at: Long

    @classmethod
    def of(cls, h: HistoryModel) -> HistoryEntry:
        return cls(seq=Long(h.seq), subject_uid=strawberry.ID(h.subject_uid), subject_kind=h.subject_kind,
                   action=h.action.value, changes=JSON(h.changes), source=h.source, run_id=h.run_id, at=Long(h.at))


@strawberry.interface(description="A configuration item. Concrete types per class family add typed attributes.")
class CI:
    uid: strawberry.ID
    ci_class: CIClassName
    name: str
    lifecycle: Lifecycle
    created_at: Long
    updated_at: Long
    parent_uid: Optional[strawberry.ID]  # noqa: UP045
    duplicate_of: Optional[strawberry.ID]  # noqa: UP045
    attributes: JSON = strawberry.field(description="Every attribute, as stored.")
    description: Optional[str]  # noqa: UP045
    owner: Optional[str]  # noqa: UP045
    environment: Optional[str]  # noqa: UP045
    criticality: Optional[str]  # noqa: UP045
    min_up: Optional[str]  # noqa: UP045
    tags: Optional[JSON]  # noqa: UP045


    @classmethod
    def resolve_type(cls, obj: Any, info: GraphQLResolveInfo[Any], abstract_type: GraphQLAbstractType) -> str:
        """The family type a projected CI answers as (``ci_type`` names it from the catalog)."""
        name: str = obj._graphql_type
        return name

    # No permission class here: a CI is only reachable through root fields that check the role.
    @resolver(description="Relationships touching this CI, with the CI at the other end (batched).")
    async def neighbours(
        self,
        info: Info[ApiContext, None],
        direction: Direction = Direction.BOTH,
        types: Optional[list[RelationshipTypeName]] = None,  # noqa: UP045
        first: int = 100,
    ) -> list[Neighbour]:
        key = NeighbourKey(str(self.uid), direction, tuple(sorted(types or ())))
        found = await info.context.loaders.neighbours.load(key)
        return [Neighbour.of(n) for n in found[: max(0, min(first, MAX_NEIGHBOURS))]]

    @resolver(description="The parent a dependent CI is identified within (batched).")
    async def parent(self, info: Info[ApiContext, None]) -> Optional[Annotated[CI, strawberry.lazy("graph_api.cis.types")]]:  # noqa: UP045
        if self.parent_uid is None:
            return None
        ci = await info.context.loaders.ci.load(str(self.parent_uid))
        return ci_type(ci) if ci else None


_BASE_FIELDS = {"name", "description", "owner", "environment", "criticality", "min_up", "tags", "uid", "attributes",
                "lifecycle", "neighbours", "parent"}
_PY_TYPES: dict[AttrType, Any] = {
    AttrType.STRING: Optional[str],  # noqa: UP045
    AttrType.INT: Optional[Long],  # noqa: UP045
    AttrType.FLOAT: Optional[float],  # noqa: UP045
    AttrType.BOOL: Optional[bool],  # noqa: UP045
    AttrType.TIMESTAMP: Optional[Long],  # noqa: UP045
    AttrType.STRING_LIST: Optional[list[str]],  # noqa: UP045
    AttrType.JSON: Optional[JSON],  # noqa: UP045
}


def _family_attributes(catalog: Schema, family: str) -> dict[str, AttrType]:
    """Attributes of a family's classes with one type across the family (base CI attributes excluded)."""
    seen: dict[str, set[AttrType]] = {}
    for cls in catalog.classes.values():
        if cls.family != family:
            continue
        for attr in cls.attributes.values():
            if not attr.sensitive:  # never stored (cmdb.redact): no field to read it from
                seen.setdefault(attr.name, set()).add(attr.type)
    return {name: next(iter(types)) for name, types in sorted(seen.items())
            if len(types) == 1 and name not in _BASE_FIELDS and name.isidentifier() and not keyword.iskeyword(name)
            and not name.startswith("_")}


def _type_name(family: str) -> str:
    if family == "ci":
        return "GenericCI"
    return "".join(part.capitalize() for part in family.split("_")) + "CI"


# CI class -> the GraphQL type of its family, over every catalog a schema was built for in this process
# (one, when serving). ``ci_type`` reads it; ``family_types`` refuses a catalog that would change it.
_TYPE_OF: dict[str, str] = {}


def family_types(catalog: Schema) -> dict[str, type]:
    """One GraphQL type per class family of ``catalog`` (a fresh set per schema built)."""
    type_of = {name: _type_name(cls.family) for name, cls in catalog.classes.items()}
    clashes = sorted(n for n, t in type_of.items() if _TYPE_OF.get(n, t) != t)
    if clashes:
        raise ValueError(f"classes {clashes} belong to other families in a catalog already served by this process")
    _TYPE_OF.update(type_of)
    types: dict[str, type] = {}
    for family in sorted({c.family for c in catalog.classes.values()}):
        attrs = _family_attributes(catalog, family)
        for name in attrs:
            # A name the CI interface declares keeps its base value (set by ci_type), as before.
            if name not in CI.__annotations__ and not hasattr(_CIView, name):
                setattr(_CIView, name, _attribute(name))
        namespace: dict[str, Any] = {
            "__annotations__": {name: _PY_TYPES[t] for name, t in attrs.items()},
            "__module__": __name__,
            "__doc__": f"A CI of the {family!r} family (classes: "
                       f"{', '.join(sorted(c.name for c in catalog.classes.values() if c.family == family))}).",
        }
        for name in attrs:
            namespace[name] = None
        cls = type(_type_name(family), (CI,), namespace)
        types[family] = strawberry.type(cls, description=namespace["__doc__"])
    return types


class _CIView(CI):
    """A domain CI as any family's GraphQL type: ``CI.resolve_type`` names the type, and each typed
    attribute field of a family (a property ``family_types`` adds) reads it from ``attributes``."""

    _graphql_type: str


def _attribute(name: str) -> property:
    def read(self: _CIView) -> Any:
        return self.__dict__["attributes"].get(name)

    return property(read, doc=f"attributes[{name!r}]")


def ci_type(ci: CIModel) -> CI:
    """Project a domain CI onto its family's GraphQL type.

    Built without a generated ``__init__`` (the hottest line of a lookup); every base field is set
    explicitly below, the family's typed attributes are read from ``attributes`` when selected.
    """
    attrs = ci.attributes
    min_up = attrs.get("min_up")
    instance: _CIView = object.__new__(_CIView)
    instance.__dict__.update({
        "_graphql_type": _TYPE_OF.get(ci.ci_class, "GenericCI"),
        "uid": ci.uid, "ci_class": CIClassName(ci.ci_class), "name": ci.name,
        "lifecycle": LIFECYCLE_MEMBER[ci.status], "created_at": ci.created_at, "updated_at": ci.updated_at,
        "parent_uid": ci.parent_uid or None, "duplicate_of": ci.duplicate_of or None,
        "attributes": attrs, "description": _text(attrs.get("description")), "owner": _text(attrs.get("owner")),
        "environment": _text(attrs.get("environment")), "criticality": _text(attrs.get("criticality")),
        "min_up": None if min_up is None else str(min_up), "tags": attrs.get("tags"),
    })
    return instance


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
