"""GraphQL enums: the catalog's names (CI classes, relationship types, sources), never restated.

The catalog enums are built per GraphQL schema from the catalog that schema is built for
(``build_schema(settings, catalog)``; ``cmdb serve`` passes the catalog in force, ``CMDB_SCHEMA_PATH``
or the bundled one). In Python their values are the catalog's plain names (``"server"``, ``"RUNS_ON"``):
the types below are ``str`` newtypes, and each schema maps them to a GraphQL enum of its own
catalog's names (``SERVER``, ``RUNS_ON``) through strawberry's scalar map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NewType

import strawberry
from graphql import GraphQLEnumType, GraphQLEnumValue, GraphQLScalarType
from strawberry.types.scalar import ScalarDefinition

from cmdb.model import Lifecycle as LifecycleModel
from cmdb.model import RunStatus as RunStatusModel
from cmdb.store.protocol import Direction as DirectionModel
from schema import Schema

CIClassName = NewType("CIClassName", str)
RelationshipTypeName = NewType("RelationshipTypeName", str)
SourceName = NewType("SourceName", str)


def catalog_enums(catalog: Schema) -> dict[object, ScalarDefinition]:
    """The scalar-map entries that make the three newtypes GraphQL enums of ``catalog``'s names."""
    return {
        CIClassName: _enum("CIClassName", catalog.classes, "A CI class declared in the catalog."),
        RelationshipTypeName: _enum("RelationshipTypeName", catalog.relationships,
                                    "A relationship type declared in the catalog."),
        SourceName: _enum("SourceName", catalog.sources, "A discovery source declared in the catalog."),
    }


def _enum(name: str, values: Iterable[str], description: str) -> ScalarDefinition:
    enum = GraphQLEnumType(name, {value.upper(): GraphQLEnumValue(value) for value in sorted(values)},
                           description=description)
    # strawberry puts a scalar definition's ``implementation`` into the schema as it is (typed as a scalar
    # type, any named leaf type works there): a GraphQL enum whose values are the catalog's plain names.
    implementation: GraphQLScalarType = enum  # type: ignore[assignment]  # an enum stands in for a scalar here
    return ScalarDefinition(name=name, description=description, specified_by_url=None, serialize=None,
                            parse_value=None, parse_literal=None, implementation=implementation)


# strawberry.enum marks the domain's own enum as a GraphQL enum (in place) under the given name.
strawberry.enum(LifecycleModel, name="Lifecycle")
strawberry.enum(RunStatusModel, name="RunStatus")
strawberry.enum(DirectionModel, name="Direction")
Lifecycle = LifecycleModel
RunStatus = RunStatusModel
Direction = DirectionModel

# Value -> member lookups without Enum.__call__ (hot when projecting thousands of objects).
LIFECYCLE_MEMBER: dict[str | Lifecycle, Lifecycle] = {m.value: m for m in Lifecycle} | {m: m for m in Lifecycle}
