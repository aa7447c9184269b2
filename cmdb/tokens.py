"""API tokens: roles, hashing and the token store protocol.

A token is ``cmdb_<id>_<secret>``: the id finds the row, the secret is only ever
kept as a SHA-256 digest (secrets are 256 random bits, so a slow password hash
buys nothing). The plaintext is shown once, when the token is created.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from cmdb.errors import CmdbError

_PREFIX = "cmdb_"


class Role(str, Enum):
    """What a token may do. viewer < editor < admin; collector only feeds observations."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    COLLECTOR = "collector"

    def allows(self, needed: Role) -> bool:
        """Whether a principal with this role may do what ``needed`` guards."""
        if needed is Role.COLLECTOR:
            return self in (Role.COLLECTOR, Role.ADMIN)
        if self is Role.COLLECTOR:
            return False
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class InvalidToken(CmdbError):
    """A token that is malformed, unknown or revoked (never says which)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A stored token without its secret."""

    token_id: str
    name: str
    role: Role
    created_at: int
    revoked_at: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class StoredToken:
    info: TokenInfo
    digest: str


class TokenStore(Protocol):
    """Where token rows live (``cmdb.store.tokens_sqlite`` by default)."""

    def insert(self, token: StoredToken) -> None: ...

    def get(self, token_id: str) -> StoredToken | None: ...

    def list(self) -> list[TokenInfo]: ...

    def revoke(self, token_id: str, at: int) -> bool: ...


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str]:
    """Split ``cmdb_<id>_<secret>``; raises InvalidToken."""
    if not token.startswith(_PREFIX):
        raise InvalidToken("malformed token")
    token_id, sep, secret = token[len(_PREFIX):].partition("_")
    if not sep or not token_id or not secret:
        raise InvalidToken("malformed token")
    return token_id, secret


class TokenService:
    """Create, list, revoke and verify tokens over a TokenStore."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    def create(self, name: str, role: Role) -> tuple[TokenInfo, str]:
        """A new token's row and its plaintext (returned once, never stored)."""
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        info = TokenInfo(token_id=token_id, name=name, role=role, created_at=int(time.time() * 1000))
        self.store.insert(StoredToken(info=info, digest=digest(secret)))
        return info, f"{_PREFIX}{token_id}_{secret}"

    def list(self) -> list[TokenInfo]:
        return self.store.list()

    def revoke(self, token_id: str) -> bool:
        return self.store.revoke(token_id, int(time.time() * 1000))

    def verify(self, token: str) -> TokenInfo:
        """The active token's info; raises InvalidToken otherwise."""
        token_id, secret = parse(token)
        row = self.store.get(token_id)
        if row is None or not hmac.compare_digest(row.digest, digest(secret)) or not row.info.active:
            raise InvalidToken("invalid token")
        return row.info
