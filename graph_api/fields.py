"""Typed decorators for resolvers: ``@resolver(...)`` and ``@mutation(...)``.

``strawberry.field(...)`` and ``strawberry.mutation(...)`` called with options only are typed to
return ``Any`` (the same call doubles as a dataclass field specifier), so mypy --strict sees every
decorated resolver as untyped. These wrappers hand the function to strawberry's own overload that
takes the resolver, which is typed to return the :class:`StrawberryField` it really is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField

Resolver = Callable[..., Any]


def resolver(*, description: str | None = None,
             permission_classes: list[type[BasePermission]] | None = None) -> Callable[[Resolver], StrawberryField]:
    """``@strawberry.field(description=..., permission_classes=...)``, typed."""

    def decorate(function: Resolver) -> StrawberryField:
        return strawberry.field(function, description=description, permission_classes=permission_classes)

    return decorate


def mutation(*, description: str | None = None,
             permission_classes: list[type[BasePermission]] | None = None) -> Callable[[Resolver], StrawberryField]:
    """``@strawberry.mutation(description=..., permission_classes=...)``, typed."""

    def decorate(function: Resolver) -> StrawberryField:
        return strawberry.mutation(function, description=description, permission_classes=permission_classes)

    return decorate
