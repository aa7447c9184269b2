"""API tokens: roles, hashing and the token store protocol.

A token is ``cmdb_<id>_<secret>``: the id finds the row, the secret is only ever
kept as a SHA-256 digest (secrets are 256 random bits, so a slow password hash
buys nothing). The plaintext is shown once, when the token is created.

A collector token is bound, when it is created, to the sources it may write as and
the scopes (glob patterns, ``acct-123/*``) it may write in: least privilege for a
credential that sits on a machine in another network. It may never write as
``manual`` (that is people's source, which outranks every scanner), and a run it ends
complete ages only its own scope, one it is bound to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase
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
    sources: tuple[str, ...] = ()  # a collector's: the sources it may write as
    scopes: tuple[str, ...] = ()  # a collector's: glob patterns of the scopes it may write in

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may_write(self, source: str, scope: str) -> bool:
        """Whether this token may deliver observations of ``source`` in ``scope`` (and end that run)."""
        return write_allowed(self.role, self.sources, self.scopes, source, scope)


def write_allowed(role: Role, sources: Sequence[str], scopes: Sequence[str], source: str, scope: str) -> bool:
    """An admin may write anything; a collector what it is bound to (never ``manual``); nobody else."""
    if role is Role.ADMIN:
        return True
    if role is not Role.COLLECTOR or source == MANUAL_SOURCE:
        return False
    return source in sources and any(fnmatchcase(scope, pattern) for pattern in scopes)


MANUAL_SOURCE = "manual"


class InvalidBinding(CmdbError):
    """A token's sources and scopes that cannot be granted (e.g. a collector writing as ``manual``)."""


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

    def create(self, name: str, role: Role, sources: Sequence[str] = (), scopes: Sequence[str] = (),
               known_sources: Collection[str] | None = None) -> tuple[TokenInfo, str]:
        """A new token's row and its plaintext (returned once, never stored).

        A collector token needs at least one source and one scope pattern; other roles take
        none. ``known_sources``: the catalog's, to refuse a source that does not exist.
        Raises InvalidBinding.
        """
        sources, scopes = tuple(dict.fromkeys(sources)), tuple(dict.fromkeys(scopes))
        _check_binding(role, sources, scopes, known_sources)
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        info = TokenInfo(token_id=token_id, name=name, role=role, created_at=int(time.time() * 1000),
                         sources=sources, scopes=scopes)
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


def _check_binding(role: Role, sources: tuple[str, ...], scopes: tuple[str, ...],
                   known_sources: Collection[str] | None) -> None:
    if role is not Role.COLLECTOR:
        if sources or scopes:
            raise InvalidBinding(f"only collector tokens are bound to sources and scopes, not {role.value} tokens")
        return
    if not sources or not scopes:
        raise InvalidBinding("a collector token needs the sources it may write as and the scopes it may write in")
    if MANUAL_SOURCE in sources:
        raise InvalidBinding(f"a collector may not write as {MANUAL_SOURCE!r}")
    unknown = [s for s in sources if known_sources is not None and s not in known_sources]
    if unknown:
        raise InvalidBinding(f"unknown source(s): {', '.join(unknown)}")
    if any(not pattern.strip() for pattern in scopes):
        raise InvalidBinding("a scope pattern must not be empty")
