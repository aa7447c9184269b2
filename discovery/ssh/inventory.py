"""The host inventory (YAML): host lists, CIDR ranges, credential references, limits.

Credentials are references only (a user name, a key file path, an environment
variable holding a key); no secret is ever written into the inventory model's
output, the graph or the logs.

Example::

    scope: dc1
    network_scope: global
    defaults: {user: cmdb, key_file: ~/.ssh/cmdb_ed25519, sudo_ss: true}
    host_keys: {mode: known_hosts, file: ~/.ssh/known_hosts, record_new: false}
    concurrency: 32
    deadline_s: 20
    noise: {ports: [53, 123, 9100], processes: [node_exporter], cidrs: []}
    hosts:
      - db1.example.com
      - {name: app1, address: 10.0.0.5, user: deploy, instance_id: i-0abc1234def567890}
    ranges:
      - {cidr: 10.0.1.0/28, user: cmdb}
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import asyncssh
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from discovery.ssh.dependencies import NoiseFilter
from discovery.ssh.hostkeys import HostKeyMode, HostKeyPolicy

MAX_RANGE_ADDRESSES = 4096
INSECURE_ENV = "CMDB_SSH_INSECURE_HOST_KEYS"


class InventoryError(ValueError):
    """The inventory file is invalid (the message names the field)."""


class Credentials(BaseModel):
    """A reference to how to log in: a user and where the private key lives."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = None
    port: int | None = None
    key_file: str | None = None  # path to a private key
    key_env: str | None = None  # environment variable holding a private key (PEM/OpenSSH text)
    passphrase_env: str | None = None  # environment variable holding the key's passphrase
    sudo_ss: bool | None = None  # run ss through `sudo -n` (a narrow sudoers rule)

    def merged(self, base: Credentials) -> Credentials:
        fields = Credentials.model_fields
        data = {k: getattr(base, k) for k in fields}
        data.update({k: getattr(self, k) for k in fields if getattr(self, k) is not None})
        return Credentials(**data)

    def load_keys(self) -> list[asyncssh.SSHKey]:
        """Read the referenced private key(s); raises a clear error naming the reference, never the secret."""
        passphrase = os.environ.get(self.passphrase_env) if self.passphrase_env else None
        keys: list[asyncssh.SSHKey] = []
        try:
            if self.key_env:
                text = os.environ.get(self.key_env)
                if not text:
                    raise InventoryError(f"environment variable {self.key_env} holding the SSH key is not set")
                keys.append(asyncssh.import_private_key(text, passphrase))
            if self.key_file:
                keys.append(asyncssh.read_private_key(os.path.expanduser(self.key_file), passphrase))
        except (OSError, asyncssh.KeyImportError) as exc:
            ref = self.key_env or self.key_file
            raise InventoryError(f"cannot load SSH key from {ref}: {exc.__class__.__name__}") from None
        return keys


class HostEntry(Credentials):
    name: str | None = None
    address: str | None = None
    instance_id: str | None = None
    network_scope: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class RangeEntry(Credentials):
    cidr: str
    network_scope: str | None = None

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        net = ipaddress.ip_network(value, strict=False)
        if net.num_addresses > MAX_RANGE_ADDRESSES:
            raise ValueError(f"range {value} is larger than {MAX_RANGE_ADDRESSES} addresses")
        return str(net)


class HostKeysConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: HostKeyMode = HostKeyMode.KNOWN_HOSTS
    file: str | None = "~/.ssh/known_hosts"
    record_new: bool = False

    @model_validator(mode="after")
    def _insecure_only_when_asked(self) -> HostKeysConfig:
        # Skipping host key checks hands credentials' use to whoever answers: tests only.
        if self.mode is HostKeyMode.INSECURE and os.environ.get(INSECURE_ENV) != "1":
            raise ValueError(f"host_keys mode 'insecure' is for tests only (set {INSECURE_ENV}=1 to allow it)")
        return self

    def policy(self, base: Path | None = None) -> HostKeyPolicy:
        path = _resolve(self.file, base) if self.file else None
        return HostKeyPolicy(self.mode, path, self.record_new)


class NoiseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ports: list[int] | None = None
    processes: list[str] | None = None
    cidrs: list[str] = Field(default_factory=list)

    def filter(self) -> NoiseFilter:
        default = NoiseFilter()
        return NoiseFilter(
            ports=frozenset(self.ports) if self.ports is not None else default.ports,
            processes=frozenset(self.processes) if self.processes is not None else default.processes,
            cidrs=tuple(self.cidrs),
        )


class Target(BaseModel):
    """One host to scan, fully resolved."""

    model_config = ConfigDict(frozen=True)

    name: str
    address: str
    port: int
    credentials: Credentials
    network_scope: str
    instance_id: str | None = None


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: str = "hosts"
    network_scope: str = "global"
    defaults: Credentials = Field(default_factory=lambda: Credentials(user="root", port=22))
    host_keys: HostKeysConfig = Field(default_factory=HostKeysConfig)
    concurrency: int = Field(default=32, ge=1, le=1024)
    deadline_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    hosts: list[HostEntry] = Field(default_factory=list)
    ranges: list[RangeEntry] = Field(default_factory=list)
    base_dir: Path | None = Field(default=None, exclude=True)

    def targets(self) -> list[Target]:
        """Hosts and every address of every range, de-duplicated by name, in file order."""
        base = self.defaults.merged(Credentials(user="root", port=22))
        out: dict[str, Target] = {}
        for h in self.hosts:
            creds = h.merged(base)
            name = h.name or h.address
            if not name:
                raise InventoryError("a host entry needs a name or an address")
            out.setdefault(name, Target(
                name=name, address=h.address or name, port=creds.port or 22,
                credentials=_creds_only(creds), network_scope=h.network_scope or self.network_scope,
                instance_id=h.instance_id,
            ))
        for r in self.ranges:
            creds = r.merged(base)
            net = ipaddress.ip_network(r.cidr)
            addresses = list(net.hosts()) if net.num_addresses > 2 else list(net)
            for addr in addresses:
                out.setdefault(str(addr), Target(
                    name=str(addr), address=str(addr), port=creds.port or 22, credentials=_creds_only(creds),
                    network_scope=r.network_scope or self.network_scope,
                ))
        return list(out.values())


def _creds_only(c: Credentials) -> Credentials:
    return Credentials(**{k: getattr(c, k) for k in Credentials.model_fields})


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() or base is None else base / p


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory file; relative key and host-key paths resolve against its folder."""
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text()) or {}
        inv = Inventory.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise InventoryError(f"{p}: {exc}") from None
    inv.base_dir = p.parent.resolve()
    for entry in [inv.defaults, *inv.hosts, *inv.ranges]:
        if entry.key_file:
            entry.key_file = str(_resolve(entry.key_file, inv.base_dir))
    return inv
