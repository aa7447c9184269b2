"""Bearer-token authentication and the one place role checks live.

Every request to ``/graphql`` (except the GraphiQL page itself), ``/api/v1/collect``
and ``/metrics`` must carry ``Authorization: Bearer <token>``; otherwise it gets
HTTP 401 and nothing else. Field access is then checked by the permission classes
below, which every area's fields use (``viewer``, ``editor``, ``admin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from strawberry.permission import BasePermission

from cmdb.tokens import InvalidToken, Role, TokenInfo, TokenService, write_allowed

UNAUTHENTICATED_BODY = {"errors": [{"message": "Authentication required: send a valid bearer token.",
                                     "extensions": {"code": "UNAUTHENTICATED"}}]}


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    name: str
    role: Role
    sources: tuple[str, ...] = ()  # a collector's binding (cmdb.tokens)
    scopes: tuple[str, ...] = ()

    @classmethod
    def of(cls, info: TokenInfo) -> Principal:
        return cls(token_id=info.token_id, name=info.name, role=info.role, sources=info.sources, scopes=info.scopes)

    def may_write(self, source: str, scope: str) -> bool:
        """Whether this principal may deliver ``source``'s observations in ``scope`` and end that run."""
        return write_allowed(self.role, self.sources, self.scopes, source, scope)


class Unauthenticated(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=401, detail=UNAUTHENTICATED_BODY,
                         headers={"WWW-Authenticate": 'Bearer realm="cmdb"'})


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(request: Request, tokens: TokenService) -> Principal:
    """The request's principal; raises Unauthenticated (HTTP 401) for a missing or bad token."""
    token = bearer(request)
    if token is None:
        raise Unauthenticated()
    try:
        return Principal.of(tokens.verify(token))
    except InvalidToken:
        raise Unauthenticated() from None


def require(principal: Principal | None, role: Role) -> None:
    """For non-GraphQL endpoints: raise HTTP 403 if ``principal`` may not act as ``role``."""
    if principal is None:
        raise Unauthenticated()
    if not principal.role.allows(role):
        raise HTTPException(status_code=403, detail={"errors": [{
            "message": f"Forbidden: this needs the {role.value} role.", "extensions": {"code": "FORBIDDEN"}}]})


class _RolePermission(BasePermission):
    """Base of the GraphQL permission classes: the principal's role must allow ``role``."""

    role: Role = Role.ADMIN
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal: Principal | None = getattr(info.context, "principal", None)
        if principal is None:
            self.message = "Authentication required."
            return False
        self.message = f"Forbidden: this needs the {self.role.value} role."
        return principal.role.allows(self.role)


class CanView(_RolePermission):
    role = Role.VIEWER


class CanEdit(_RolePermission):
    role = Role.EDITOR


class CanAdmin(_RolePermission):
    role = Role.ADMIN
