"""GraphQL enums derived from the catalog in force (CI classes, relationship types, sources), never restated.

The catalog in force is ``CMDB_SCHEMA_PATH`` when set, else the bundled ``schema/catalog.yaml``: the
same one every ``cmdb`` command loads (``cmdb_cli.context.schema``), so ``cmdb serve`` answers with the
classes and relationship types its store was written with. It is read once per process, when the GraphQL
types are first imported; ``create_app`` refuses a store schema whose names differ from it.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from cmdb.model import Lifecycle as LifecycleModel
from cmdb.model import RunStatus as RunStatusModel
from cmdb.settings import get_core_settings
from cmdb.store.protocol import Direction as DirectionModel
from schema import Schema, load_schema


def catalog_in_force() -> Schema:
    """``CMDB_SCHEMA_PATH``'s catalog when set, else the bundled one (what every command loads)."""
    path = get_core_settings().schema_path
    return load_schema(path) if path else load_schema()


CATALOG: Schema = catalog_in_force()

CIClassName = strawberry.enum(
    Enum("CIClassName", {name.upper(): name for name in sorted(CATALOG.classes)}),  # type: ignore[misc]
    description="A CI class declared in the catalog.",
)
RelationshipTypeName = strawberry.enum(
    Enum("RelationshipTypeName", {name.upper(): name for name in sorted(CATALOG.relationships)}),  # type: ignore[misc]
    description="A relationship type declared in the catalog.",
)
SourceName = strawberry.enum(
    Enum("SourceName", {name.upper(): name for name in sorted(CATALOG.sources)}),  # type: ignore[misc]
    description="A discovery source declared in the catalog.",
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
            "the store's schema differs from the catalog the GraphQL schema was built from "
            "(CMDB_SCHEMA_PATH, else the bundled one): "
            f"classes {sorted(missing_classes)}, relationship types {sorted(missing_rels)}"
        )


# Value -> member lookups without Enum.__call__ (hot when projecting thousands of objects).
CLASS_MEMBER = {m.value: m for m in CIClassName}  # type: ignore[attr-defined]
REL_MEMBER = {m.value: m for m in RelationshipTypeName}  # type: ignore[attr-defined]
LIFECYCLE_MEMBER = {m.value: m for m in Lifecycle} | {m: m for m in Lifecycle}  # type: ignore[attr-defined]
