"""GraphQL enums derived from ``schema/`` (CI classes, relationship types, sources), never restated."""

from __future__ import annotations

from enum import Enum

import strawberry

from cmdb.model import Lifecycle as LifecycleModel
from cmdb.model import RunStatus as RunStatusModel
from cmdb.store.protocol import Direction as DirectionModel
from schema import Schema, load_schema

# The packaged catalog is what the SDL describes; ``create_app`` refuses a store
# schema whose names differ from it (see ``check_catalog``).
CATALOG: Schema = load_schema()

CIClassName = strawberry.enum(
    Enum("CIClassName", {name.upper(): name for name in sorted(CATALOG.classes)}),  # type: ignore[misc]
    description="A CI class declared in schema/catalog.yaml.",
)
RelationshipTypeName = strawberry.enum(
    Enum("RelationshipTypeName", {name.upper(): name for name in sorted(CATALOG.relationships)}),  # type: ignore[misc]
    description="A relationship type declared in schema/catalog.yaml.",
)
SourceName = strawberry.enum(
    Enum("SourceName", {name.upper(): name for name in sorted(CATALOG.sources)}),  # type: ignore[misc]
    description="A discovery source declared in schema/catalog.yaml.",
)
Lifecycle = strawberry.enum(LifecycleModel, name="Lifecycle")
RunStatus = strawberry.enum(RunStatusModel, name="RunStatus")
Direction = strawberry.enum(DirectionModel, name="Direction")


def check_catalog(schema: Schema) -> None:
    """Raise ValueError if ``schema`` names classes or relationship types the GraphQL enums lack."""
    missing_classes = set(schema.classes) - set(CATALOG.classes)
    missing_rels = set(schema.relationships) - set(CATALOG.relationships)
    if missing_classes or missing_rels:
        raise ValueError(
            "the store's schema differs from the packaged catalog the GraphQL schema was built from: "
            f"classes {sorted(missing_classes)}, relationship types {sorted(missing_rels)}"
        )


# Value -> member lookups without Enum.__call__ (hot when projecting thousands of objects).
CLASS_MEMBER = {m.value: m for m in CIClassName}  # type: ignore[attr-defined]
REL_MEMBER = {m.value: m for m in RelationshipTypeName}  # type: ignore[attr-defined]
LIFECYCLE_MEMBER = {m.value: m for m in Lifecycle} | {m: m for m in Lifecycle}  # type: ignore[attr-defined]
