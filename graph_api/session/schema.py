"""Query ``me``: the caller's token name and role.

The web interface reads it after sign-in to hide the controls the role may not use;
the API still checks every field itself (``graph_api.auth``), so this is presentation only.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from cmdb.tokens import Role
from graph_api.auth import CanView
from graph_api.context import ApiContext
from graph_api.fields import resolver


@strawberry.enum(description="What a token may do: each role includes the ones before it (collector aside).")
class RoleName(Enum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    COLLECTOR = "collector"


@strawberry.type(description="The caller, as its bearer token says.")
class Me:
    name: str
    role: RoleName
    can_edit: bool = strawberry.field(description="Whether mutations of CIs and changes are allowed.")
    can_admin: bool


@strawberry.type
class SessionQueries:
    @resolver(description="The caller's token name and role.", permission_classes=[CanView])
    async def me(self, info: Info[ApiContext, None]) -> Me:
        principal = info.context.principal
        assert principal is not None  # CanView let it through
        return Me(name=principal.name, role=RoleName(principal.role.value),
                  can_edit=principal.role.allows(Role.EDITOR), can_admin=principal.role.allows(Role.ADMIN))
