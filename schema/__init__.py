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
    Normaliser,
    Redundancy,
    RelationshipType,
    SourceDef,
    Strength,
)
from schema.registry import Schema, UnknownName

__all__ = [
    "Aging", "AttrType", "AttributeDef", "CIClass", "Dependency", "IdentifierRule",
    "ImpactDirection", "MinUp", "NetworkSpec", "Normaliser", "Redundancy", "RelationshipType", "Schema", "SchemaError",
    "SourceDef", "Strength", "UnknownName", "build_schema", "load_schema",
]
