"""GraphQL enums derived from the catalog in force (CI classes, relationship types, sources), never restated.

The catalog in force is ``CMDB_SCHEMA_PATH`` when set, else the bundled ``schema/catalog.yaml``: the
same one every ``cmdb`` command loads (``cmdb_cli.context.schema``), so ``cmdb serve`` answers with the
classes and relationship types its store was written with. It is read once per process, when the GraphQL
types are first imported; ``create_app`` refuses a store schema whose names differ from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, cast

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

# Enum's functional API builds a new Enum subclass from names known only at run time; mypy only models
# it with literal member names, so the call is typed here as what it is: (name, members) -> an Enum class.
_make_enum = cast("Callable[[str, dict[str, str]], type[Enum]]", Enum)


def _catalog_enum(name: str, values: Iterable[str], description: str) -> type[Enum]:
    return strawberry.enum(_make_enum(name, {value.upper(): value for value in sorted(values)}),
                           description=description)


if TYPE_CHECKING:
    # What mypy sees: an Enum whose members are not known before the catalog is read.
    class CIClassName(Enum):
        """A CI class of the catalog in force."""

    class RelationshipTypeName(Enum):
        """A relationship type of the catalog in force."""

    class SourceName(Enum):
        """A discovery source of the catalog in force."""
else:
    CIClassName = _catalog_enum("CIClassName", CATALOG.classes, "A CI class declared in the catalog.")
    RelationshipTypeName = _catalog_enum("RelationshipTypeName", CATALOG.relationships,
                                         "A relationship type declared in the catalog.")
    SourceName = _catalog_enum("SourceName", CATALOG.sources, "A discovery source declared in the catalog.")

# strawberry.enum marks the domain's own enum as a GraphQL enum (in place) under the given name.
strawberry.enum(LifecycleModel, name="Lifecycle")
strawberry.enum(RunStatusModel, name="RunStatus")
strawberry.enum(DirectionModel, name="Direction")
Lifecycle = LifecycleModel
RunStatus = RunStatusModel
Direction = DirectionModel


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
CLASS_MEMBER: dict[str, CIClassName] = {m.value: m for m in CIClassName}
REL_MEMBER: dict[str, RelationshipTypeName] = {m.value: m for m in RelationshipTypeName}
LIFECYCLE_MEMBER: dict[str | Lifecycle, Lifecycle] = {m.value: m for m in Lifecycle} | {m: m for m in Lifecycle}
