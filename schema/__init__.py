"""Declarative CI classes, identifier rules, relationship types and sources.

This package imports nothing of the project: every other package derives from it.
"""

from schema.loader import SchemaError, build_schema, load_schema
from schema.model import (
    Aging,
    AttributeDef,
    AttrType,
    CIClass,
    Dependency,
    IdentifierRule,
    ImpactDirection,
    MinUp,
    NetworkSpec,
    Redundancy,
    RelationshipType,
    SourceDef,
)
from schema.registry import Schema, UnknownName

__all__ = [
    "Aging", "AttrType", "AttributeDef", "CIClass", "Dependency", "IdentifierRule",
    "ImpactDirection", "MinUp", "NetworkSpec", "Redundancy", "RelationshipType", "Schema", "SchemaError",
    "SourceDef", "UnknownName", "build_schema", "load_schema",
]
