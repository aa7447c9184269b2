"""The GraphQL schema: per-area Query and Mutation mixins composed into one schema.

Adding an area is a one-line edit of ``QUERY_MIXINS`` and/or ``MUTATION_MIXINS``
below: write ``graph_api/<area>/{types,filters,schema}.py`` with a
``@strawberry.type class <Area>Queries`` (and ``<Area>Mutations``) whose fields
use the permission classes of ``graph_api.auth`` (``CanView``/``CanEdit``/
``CanAdmin``), take ``info: Info[ApiContext, None]`` and call ``cmdb`` services
(never a store query), then list the mixin here. Change planning
(``graph_api.changes.schema.ChangeQueries``/``ChangeMutations``) is expected to
join this way.
"""

from __future__ import annotations

from functools import lru_cache

import strawberry
from graphql import GraphQLError
from prometheus_client import Histogram
from strawberry.extensions import MaskErrors, MaxTokensLimiter, ParserCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graph_api.analysis.schema import AnalysisQueries
from graph_api.changes.schema import ChangeMutations, ChangeQueries
from graph_api.cis.schema import CIMutations, CIQueries
from graph_api.cis.types import family_types
from graph_api.document_cost import create_limits_rule
from graph_api.enums import catalog_enums
from graph_api.errors import log_errors, should_mask
from graph_api.execution import LeafFastExecutionContext
from graph_api.limits import LimitsFirst
from graph_api.merges.schema import MergeMutations, MergeQueries
from graph_api.operation_metrics import OperationNames, OperationTiming
from graph_api.result_cache import CachedResults, ResultCache
from graph_api.runs.schema import RunMutations, RunQueries
from graph_api.scalars import SCALAR_MAP
from graph_api.session.schema import SessionQueries
from graph_api.settings import ApiSettings
from schema import Schema as Catalog
from schema import load_schema

QUERY_MIXINS: tuple[type, ...] = (CIQueries, AnalysisQueries, RunQueries, ChangeQueries, MergeQueries, SessionQueries)
MUTATION_MIXINS: tuple[type, ...] = (CIMutations, RunMutations, ChangeMutations, MergeMutations)


def build_schema(settings: ApiSettings, catalog: Catalog, result_cache: ResultCache | None = None,
                 operation_seconds: Histogram | None = None) -> strawberry.Schema:
    """The schema of ``catalog`` with every limit on: tokens, aliases, depth/introspection/cost, masked errors.

    ``catalog`` gives the enums of class, relationship type and source names and the family types.

    ``result_cache``: serve repeated index-only queries from it (``graph_api.result_cache``).
    """
    cached = [lambda: CachedResults(result_cache)] if result_cache is not None else []
    names = OperationNames()
    timed = [lambda: OperationTiming(operation_seconds, names)] if operation_seconds is not None else []
    limits_rule = create_limits_rule(settings.max_depth, settings.max_introspection_depth, settings.max_cost,
                                     settings.page_cap, settings.max_fields, settings.max_aliases,
                                     settings.max_analyses)
    query = merge_types("Query", QUERY_MIXINS)
    mutation = merge_types("Mutation", MUTATION_MIXINS)
    return _Schema(
        query=query,
        mutation=mutation,
        types=list(family_types(catalog).values()),
        config=StrawberryConfig(scalar_map={**SCALAR_MAP, **catalog_enums(catalog)}),
        execution_context_class=LeafFastExecutionContext,
        extensions=[
            *timed,
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: LimitsFirst([limits_rule]),
            lambda: MaskErrors(should_mask_error=should_mask),
            *cached,
        ],
    )


class _Schema(strawberry.Schema):
    """strawberry's schema, logging errors by kind (``graph_api.errors.log_errors``) instead of
    every error at error level with a traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


@lru_cache(maxsize=1)
def sdl() -> str:
    """The bundled catalog's SDL, exported to docs/schema.graphql (limits do not change the SDL)."""
    return build_schema(ApiSettings(), load_schema()).as_str() + "\n"
