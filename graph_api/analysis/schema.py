"""Queries ``topology``, ``impact``, ``dependencies``, ``paths`` and ``singlePointsOfFailure``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info

from cmdb.impact import DependencyRequest, ImpactRequest, ImpactService
from cmdb.services.errors import NotConfigured
from cmdb.services.topology import TopologyRequest
from graph_api.analysis.types import (
    DependencyReport,
    ImpactReport,
    NetworkSpofReport,
    PathReport,
    SpofReport,
    TopologyView,
)
from graph_api.auth import CanView
from graph_api.blocking import run_blocking, run_in_memory
from graph_api.context import ApiContext
from graph_api.enums import Direction, RelationshipTypeName
from graph_api.errors import DomainError, as_domain_error
from graph_api.fields import resolver

MAX_DEPTH = 10
MAX_NODES = 50_000

T = TypeVar("T")


def _engine(info: Info[ApiContext, None]) -> ImpactService:
    engine = info.context.services.impact
    if engine is None:
        raise DomainError("NOT_CONFIGURED", str(NotConfigured("the impact engine (topology index)")))
    return engine


def _bounds(max_depth: int, max_nodes: int) -> None:
    if not 0 <= max_depth <= MAX_DEPTH:
        raise DomainError("INVALID_ARGUMENT", f"maxDepth must be between 0 and {MAX_DEPTH}", field="maxDepth")
    if not 1 <= max_nodes <= MAX_NODES:
        raise DomainError("INVALID_ARGUMENT", f"maxNodes must be between 1 and {MAX_NODES}", field="maxNodes")


def _types(types: list[RelationshipTypeName] | None) -> tuple[str, ...] | None:
    return None if types is None else tuple(types)


def _shows(info: Info[ApiContext, None], names: frozenset[str]) -> bool:
    """Does any field named in ``names`` appear anywhere below this field (fragments included)?

    Read from the document's syntax tree: strawberry's ``info.selected_fields`` converts
    the whole selection into its own objects first (~2% of an impact query's CPU).
    Directives are not evaluated: a field under ``@skip`` counts as shown, which costs
    an explanation nobody reads, never one missing.
    """
    raw = info._raw_info
    pending: list[SelectionSetNode | None] = [node.selection_set for node in raw.field_nodes]
    spread: set[str] = set()
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections if selection_set is not None else ():
            if isinstance(selection, FieldNode):
                if selection.name.value in names:
                    return True
                pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)
                fragment = raw.fragments.get(selection.name.value)
                pending.append(fragment.selection_set if fragment is not None else None)
    return False


_EXPLANATIONS = frozenset({"path", "explanation"})


async def _run(fn: Callable[..., T], *args: Any, in_memory: bool = False) -> T:
    """``fn`` off the event loop if it reads the store, inline if it reads only the index
    (``in_memory``); the domain errors it raises typed."""
    try:
        return await (run_in_memory if in_memory else run_blocking)(fn, *args)
    except Exception as exc:
        typed = as_domain_error(exc)
        if typed is not None:
            raise typed from exc
        raise


@strawberry.type
class AnalysisQueries:
    @resolver(description="Nodes and edges within `depth` hops of `root` (null if the root is unknown).",
              permission_classes=[CanView])
    async def topology(self, info: Info[ApiContext, None],
                       root_uid: Annotated[strawberry.ID, strawberry.argument(name="root")], depth: int = 2,
                       direction: Direction = Direction.BOTH,
                       types: Optional[list[RelationshipTypeName]] = None,  # noqa: UP045
                       max_nodes: int = 500) -> Optional[TopologyView]:  # noqa: UP045
        request = TopologyRequest(root=str(root_uid), depth=depth, direction=direction, types=_types(types) or (),
                                  max_nodes=max_nodes)
        view = await _run(info.context.services.topology.topology, request)
        return TopologyView.of(view) if view else None

    @resolver(description="Everything impacted if `uids` go down: graded, explained, rolled up to services.",
              permission_classes=[CanView])
    async def impact(self, info: Info[ApiContext, None], uids: list[strawberry.ID], max_depth: int = 6,
                     max_nodes: int = 10_000, exclude: Optional[list[strawberry.ID]] = None,  # noqa: UP045
                     types: Optional[list[RelationshipTypeName]] = None,  # noqa: UP045
                     min_confidence: float = 0.0,
                     uplinks: Annotated[Optional[list[strawberry.ID]], strawberry.argument(  # noqa: UP045
                         description="The network layer's uplinks for this question (default: the catalog's).",
                     )] = None) -> ImpactReport:
        _bounds(max_depth, max_nodes)
        if not uids or len(uids) > 1000:
            raise DomainError("INVALID_ARGUMENT", "give between 1 and 1000 uids", field="uids")
        if uplinks is not None and len(uplinks) > 1000:
            raise DomainError("INVALID_ARGUMENT", "give at most 1000 uplinks", field="uplinks")
        request = ImpactRequest(uids=tuple(str(u) for u in uids), max_depth=max_depth, max_nodes=max_nodes,
                                exclude=tuple(str(u) for u in exclude or ()), rel_types=_types(types),
                                min_confidence=min_confidence,
                                uplinks=None if uplinks is None else tuple(str(u) for u in uplinks),
                                # The engine builds paths and texts only when the query shows them.
                                explain=_shows(info, _EXPLANATIONS))
        return ImpactReport.of(await _run(_engine(info).impact, request, in_memory=True))

    @resolver(description="Everything `uid` needs, to a depth.", permission_classes=[CanView])
    async def dependencies(self, info: Info[ApiContext, None], uid: strawberry.ID, max_depth: int = 6,
                           max_nodes: int = 10_000, exclude: Optional[list[strawberry.ID]] = None,  # noqa: UP045
                           types: Optional[list[RelationshipTypeName]] = None,  # noqa: UP045
                           min_confidence: float = 0.0) -> DependencyReport:
        _bounds(max_depth, max_nodes)
        request = DependencyRequest(uid=str(uid), max_depth=max_depth, max_nodes=max_nodes,
                                    exclude=tuple(str(u) for u in exclude or ()), rel_types=_types(types),
                                    min_confidence=min_confidence)
        return DependencyReport.of(await _run(_engine(info).dependencies, request, in_memory=True))

    @resolver(description="How a failure of `source` reaches `target`.", permission_classes=[CanView])
    async def paths(self, info: Info[ApiContext, None],
                    from_uid: Annotated[strawberry.ID, strawberry.argument(name="source")],
                    to_uid: Annotated[strawberry.ID, strawberry.argument(name="target")],
                    max_paths: int = 10, max_depth: int = 6,
                    types: Optional[list[RelationshipTypeName]] = None,  # noqa: UP045
                    min_confidence: float = 0.0) -> PathReport:
        _bounds(max_depth, 1)
        if not 1 <= max_paths <= 100:
            raise DomainError("INVALID_ARGUMENT", "maxPaths must be between 1 and 100", field="maxPaths")
        engine = _engine(info)
        report = await _run(lambda: engine.paths(str(from_uid), str(to_uid), max_paths=max_paths, max_depth=max_depth,
                                                 rel_types=_types(types), min_confidence=min_confidence),
                            in_memory=True)
        return PathReport.of(report)

    @resolver(description="Dependencies of a service whose loss alone takes it down.",
              permission_classes=[CanView])
    async def single_points_of_failure(self, info: Info[ApiContext, None], service: strawberry.ID,
                                       max_depth: int = 10, max_nodes: int = 2_000) -> SpofReport:
        _bounds(max_depth, max_nodes)
        engine = _engine(info)
        report = await _run(lambda: engine.single_points_of_failure(str(service), max_depth=max_depth,
                                                                    max_nodes=max_nodes), in_memory=True)
        return SpofReport.of(report)

    @resolver(description=(
"Network single points of failure: for a switch, router or host, its site (the connected part of the "
"network); for a service, the network its hosts need. Devices and links whose loss alone cuts something "
"off every uplink, with what each cuts off."), permission_classes=[CanView])
    async def network_single_points_of_failure(
        self, info: Info[ApiContext, None], uid: strawberry.ID, max_nodes: int = 5_000, max_depth: int = 10,
        uplinks: Optional[list[strawberry.ID]] = None,  # noqa: UP045
    ) -> NetworkSpofReport:
        _bounds(max_depth, max_nodes)
        engine = _engine(info)
        ups = None if uplinks is None else tuple(str(u) for u in uplinks)
        report = await _run(lambda: engine.network_single_points_of_failure(
            str(uid), max_nodes=max_nodes, max_depth=max_depth, uplinks=ups), in_memory=True)
        return NetworkSpofReport.of(report)
