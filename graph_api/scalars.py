"""Scalars: 64-bit integers (epoch milliseconds overflow GraphQL's 32-bit Int) and JSON."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("Long must be an integer")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError("Long out of range")
    return number


Long = NewType("Long", int)

# Registered through StrawberryConfig.scalar_map in graph_api.schema.
SCALAR_MAP: dict[object, ScalarDefinition] = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=_parse_long,
        description="A 64-bit integer (epoch milliseconds for times).",
    ),
}

__all__ = ["JSON", "SCALAR_MAP", "Long"]
