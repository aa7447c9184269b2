"""SNMP credentials, held by reference: the secret is read from an environment
variable or a file when a session opens, and never appears in a repr, a log line,
an Observation or an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class CredentialError(ValueError):
    """A credentials file or reference that cannot be used (says which, never the secret)."""


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: ``env`` (variable name) or ``file`` (path)."""

    env: str | None = None
    file: str | None = None

    def resolve(self) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise CredentialError(f"environment variable {self.env} is not set")
            return value
        if self.file:
            try:
                return Path(self.file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CredentialError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        raise CredentialError("secret reference names neither env nor file")

    def __repr__(self) -> str:
        return f"SecretRef(env={self.env!r})" if self.env else f"SecretRef(file={self.file!r})"


class ResolvedSecret:
    """A secret already read by someone else (the jobs file loader); never shows itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def resolve(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "ResolvedSecret(***)"

    __str__ = __repr__


Secret = SecretRef | ResolvedSecret


@dataclass(frozen=True)
class V2cCredential:
    name: str
    community: Secret = field(repr=False)
    version: str = "2c"


@dataclass(frozen=True)
class V3Credential:
    name: str
    user: str
    auth_protocol: str | None = None  # md5, sha, sha224, sha256, sha384, sha512
    auth_key: Secret | None = field(default=None, repr=False)
    priv_protocol: str | None = None  # des, 3des, aes, aes192, aes256
    priv_key: Secret | None = field(default=None, repr=False)
    context: str = ""
    version: str = "3"


Credential = V2cCredential | V3Credential

AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("des", "3des", "aes", "aes192", "aes256")


def _ref(entry: dict[str, Any], key: str, where: str) -> SecretRef | None:
    env, path = entry.get(f"{key}_env"), entry.get(f"{key}_file")
    if key in entry:
        raise CredentialError(f"{where}: literal {key!r} is not accepted; use {key}_env or {key}_file")
    if env is None and path is None:
        return None
    return SecretRef(env=str(env) if env else None, file=str(path) if path else None)


def parse_credentials(raw: dict[str, Any]) -> dict[str, Credential]:
    """``{name: {version: 2c, community_env: X} | {version: 3, user: u, auth_protocol: sha, auth_key_env: Y, ...}}``."""
    creds: dict[str, Credential] = {}
    items = raw.get("credentials", raw) if isinstance(raw, dict) else None
    if not isinstance(items, dict):
        raise CredentialError("credentials must be a mapping of name -> credential")
    for name, entry in items.items():
        where = f"credential {name!r}"
        if not isinstance(entry, dict):
            raise CredentialError(f"{where}: must be a mapping")
        version = str(entry.get("version", "2c"))
        if version in ("2c", "2", "v2c"):
            community = _ref(entry, "community", where)
            if community is None:
                raise CredentialError(f"{where}: community_env or community_file is required")
            creds[name] = V2cCredential(name=name, community=community)
        elif version in ("3", "v3"):
            auth, priv = entry.get("auth_protocol"), entry.get("priv_protocol")
            if auth is not None and str(auth).lower() not in AUTH_PROTOCOLS:
                raise CredentialError(f"{where}: auth_protocol must be one of {AUTH_PROTOCOLS}")
            if priv is not None and str(priv).lower() not in PRIV_PROTOCOLS:
                raise CredentialError(f"{where}: priv_protocol must be one of {PRIV_PROTOCOLS}")
            if priv is not None and auth is None:
                raise CredentialError(f"{where}: privacy needs authentication")
            auth_key, priv_key = _ref(entry, "auth_key", where), _ref(entry, "priv_key", where)
            if auth is not None and auth_key is None:
                raise CredentialError(f"{where}: auth_key_env or auth_key_file is required")
            if priv is not None and priv_key is None:
                raise CredentialError(f"{where}: priv_key_env or priv_key_file is required")
            if not entry.get("user"):
                raise CredentialError(f"{where}: user is required")
            creds[name] = V3Credential(
                name=name, user=str(entry["user"]),
                auth_protocol=str(auth).lower() if auth else None, auth_key=auth_key,
                priv_protocol=str(priv).lower() if priv else None, priv_key=priv_key,
                context=str(entry.get("context", "")),
            )
        else:
            raise CredentialError(f"{where}: version must be 2c or 3")
    return creds


def load_credentials(path: Path | str) -> dict[str, Credential]:
    """Read a credentials YAML file (references only, no secrets in it)."""
    with open(path, encoding="utf-8") as handle:
        return parse_credentials(yaml.safe_load(handle) or {})
