"""Queries ``ci``, ``cis``, ``neighbours``, ``history`` and the manual-edit mutations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import strawberry
from strawberry.types import Info

from cmdb.services.edits import EditResult
from cmdb.services.reads import CISearch
from graph_api.auth import CanEdit, CanView
from graph_api.blocking import run_blocking, run_write
from graph_api.cis.filters import CIFilter
from graph_api.cis.types import CI, HistoryEntry, Neighbour, Relationship, ci_type
from graph_api.context import ApiContext
from graph_api.enums import CIClassName, Direction, RelationshipTypeName
from graph_api.errors import (
    MutationError,
    NotConfiguredError,
    NotFoundError,
    ValidationError,
    as_domain_error,
    mutation_error,
    present,
)
from graph_api.fields import mutation, resolver
from graph_api.loaders import NeighbourKey
from graph_api.scalars import JSON

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]  # noqa: UP045


@strawberry.type
class CIEdge:
    cursor: str
    node: CI


@strawberry.type(description="A Relay connection of CIs, ordered by uid; `first` is capped by the server.")
class CIConnection:
    edges: list[CIEdge]
    page_info: PageInfo


async def _call(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking use case off the event loop; domain failures become typed errors."""
    try:
        return await run_blocking(fn, *args)
    except Exception as exc:
        typed = as_domain_error(exc)
        if typed is not None:
            raise typed from exc
        raise


@strawberry.type
class CIQueries:
    @resolver(description="One CI by uid (null if none).", permission_classes=[CanView])
    async def ci(self, info: Info[ApiContext, None], uid: strawberry.ID) -> Optional[CI]:  # noqa: UP045
        found = await info.context.loaders.ci.load(str(uid))
        return ci_type(found) if found else None

    @resolver(description="CIs matching a filter, as a Relay connection (page size capped).",
              permission_classes=[CanView])
    async def cis(self, info: Info[ApiContext, None], filter: Optional[CIFilter] = None,  # noqa: UP045
                  first: int = 50, after: Optional[str] = None) -> CIConnection:  # noqa: UP045
        cap = info.context.settings.page_cap
        if first > cap or first < 0:
            from graph_api.errors import DomainError
            raise DomainError("INVALID_ARGUMENT", f"first must be between 0 and {cap}", field="first")
        search = filter.to_search(first, after) if filter else CISearch(first=first, after=after)
        page = await _call(info.context.services.reads.search, search)
        for item in page.items:  # prime the loader: neighbours' lookups of these CIs are free
            info.context.loaders.ci.prime(item.uid, item)
        return CIConnection(
            edges=[CIEdge(cursor=ci.uid, node=ci_type(ci)) for ci in page.items],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
        )

    @resolver(description="Relationships of a CI with the CI at the other end.", permission_classes=[CanView])
    async def neighbours(self, info: Info[ApiContext, None], uid: strawberry.ID,
                         direction: Direction = Direction.BOTH,
                         types: Optional[list[RelationshipTypeName]] = None) -> list[Neighbour]:  # noqa: UP045
        key = NeighbourKey(str(uid), direction, tuple(sorted(types or ())))
        found = await info.context.loaders.neighbours.load(key)
        return [Neighbour.of(n) for n in found]

    @resolver(description="What changed on a CI or relationship, oldest first.", permission_classes=[CanView])
    async def history(self, info: Info[ApiContext, None], uid: strawberry.ID, last: int = 200) -> list[HistoryEntry]:
        entries = await _call(info.context.services.reads.history, str(uid), 10_000)
        return [HistoryEntry.of(h) for h in entries[-max(1, min(last, 1000)):]]


# -- mutations ------------------------------------------------------------------------------
@strawberry.type(description="The CI after a manual edit.")
class CIPayload:
    ci: Optional[CI]  # noqa: UP045
    run_id: str
    changed: bool


@strawberry.type(description="The relationship after `relate`.")
class RelationshipPayload:
    relationship: Optional[Relationship]  # noqa: UP045
    run_id: str
    changed: bool


CIResult = Annotated[CIPayload | NotFoundError | ValidationError | NotConfiguredError,
                     strawberry.union("CIResult")]
RelateResult = Annotated[RelationshipPayload | NotFoundError | ValidationError | NotConfiguredError,
                         strawberry.union("RelateResult")]


def _ci_payload(result: EditResult) -> CIPayload:
    return CIPayload(ci=ci_type(result.ci) if result.ci else None, run_id=result.run_id, changed=result.changed)


async def _edit(fn: Callable[..., T], *args: Any) -> tuple[T | None, MutationError | None]:
    try:
        return await run_write(fn, *args), None
    except Exception as exc:
        typed = mutation_error(exc)
        if typed is None:
            raise
        return None, typed


@strawberry.type
class CIMutations:
    @mutation(description="Create a CI as the source `manual` (an existing match is updated instead).",
              permission_classes=[CanEdit])
    async def create_ci(self, info: Info[ApiContext, None], ci_class: CIClassName, identifiers: JSON,
                        attributes: Optional[JSON] = None,  # noqa: UP045
                        parent_uid: Optional[strawberry.ID] = None) -> CIResult:  # noqa: UP045
        if not isinstance(identifiers, dict) or not isinstance(attributes or {}, dict):
            return ValidationError(message="identifiers and attributes must be JSON objects", field="identifiers")
        result, error = await _edit(info.context.services.edits.create, ci_class, identifiers,
                                    attributes or {}, str(parent_uid) if parent_uid else None)
        return error or _ci_payload(present(result))

    @mutation(description="Set attributes of a CI as the source `manual` (subject to precedence).",
              permission_classes=[CanEdit])
    async def update_ci(self, info: Info[ApiContext, None], uid: strawberry.ID, attributes: JSON) -> CIResult:
        if not isinstance(attributes, dict):
            return ValidationError(message="attributes must be a JSON object", field="attributes")
        result, error = await _edit(info.context.services.edits.update, str(uid), attributes)
        return error or _ci_payload(present(result))

    @mutation(description="Declare `source -[type]-> target` as the source `manual`.",
              permission_classes=[CanEdit])
    async def relate(self, info: Info[ApiContext, None], source_uid: strawberry.ID, type: RelationshipTypeName,
                     target_uid: strawberry.ID, attributes: Optional[JSON] = None,  # noqa: UP045
                     confidence: float = 1.0) -> RelateResult:
        result, error = await _edit(info.context.services.edits.relate, str(source_uid), type,
                                    str(target_uid), attributes if isinstance(attributes, dict) else {}, confidence)
        if error:
            return error
        result = present(result)
        rel = result.relationship
        return RelationshipPayload(relationship=Relationship.of(rel) if rel else None, run_id=result.run_id,
                                   changed=result.changed)

    @mutation(description="Retire a CI (it keeps its history).", permission_classes=[CanEdit])
    async def retire_ci(self, info: Info[ApiContext, None], uid: strawberry.ID,
                        reason: Optional[str] = None) -> CIResult:  # noqa: UP045
        result, error = await _edit(info.context.services.edits.retire, str(uid), reason)
        return error or _ci_payload(present(result))
