"""Scanner names in a jobs file -> how to validate their options and build the Scanner.

Scanner modules are imported only when a job is built, so a jobs file validates
on a machine without one scanner's libraries, and a scanner that is missing
gives a clear :class:`ScannerUnavailable` naming the module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from discovery.base import Scanner
from discovery.ssh.netns import NamespaceConnector

if TYPE_CHECKING:
    from discovery.jobs import Job, JobSpec, Loc, Secret


class ScannerUnavailable(RuntimeError):
    """A job names a scanner whose module is not importable here."""


# -- per-scanner options -----------------------------------------------------------------------------


class AwsOptions(BaseModel):
    """Accounts and regions to sweep; ``endpoint_url`` points at a moto server in tests and the demo."""

    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=list)
    role_arns: list[str] = Field(default_factory=list)
    org_role: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = Field(default=5, ge=1, le=20)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)


class HostsOptions(BaseModel):
    """An SSH inventory (a path, relative to the jobs file, or inline); ``netns`` connects from a namespace."""

    model_config = ConfigDict(extra="forbid")

    inventory: str | dict[str, Any]
    netns: str | None = None


class SnmpOptions(BaseModel):
    """Passed to the SNMP scanner's ``from_job_options``; the scanner validates its own keys."""

    model_config = ConfigDict(extra="allow")


class VsphereOptions(BaseModel):
    """A vCenter (``host`` or ``host:port``); ``insecure`` skips certificate checks (a simulator in tests only)."""

    model_config = ConfigDict(extra="forbid")

    server: str = Field(min_length=1)
    user: str | None = None  # or the ``user`` credential
    ca_file: str | None = None  # relative to the jobs file
    insecure: bool = False
    page_size: int = Field(default=500, ge=1, le=10_000)
    network_scope: str = "global"


Builder = Callable[["Job", BaseModel, "dict[str, Secret]"], Scanner]


@dataclass(frozen=True, slots=True)
class ScannerEntry:
    """One scanner a job may name: its module (imported lazily), options and credential keys."""

    name: str
    source: str  # the CMDB source its observations carry
    module: str
    options: type[BaseModel]
    credentials: frozenset[str]
    build: Builder
    description: str


def _require(module: str, scanner: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ScannerUnavailable(f"scanner {scanner!r} is not available: cannot import {module} ({exc})") from None


# -- builders -----------------------------------------------------------------------------------------------


def _build_aws(job: Job, options: BaseModel, secrets: dict[str, Secret]) -> Scanner:
    aws = _require("discovery.aws", "aws")
    assert isinstance(options, AwsOptions)
    creds = None
    if "access_key_id" in secrets:
        token = secrets.get("session_token")
        creds = aws.Credentials(secrets["access_key_id"].reveal(), secrets["secret_access_key"].reveal(),
                                token.reveal() if token else None)
    external = secrets.get("external_id")
    sources = aws.AccountSources(
        profiles=tuple(options.profiles), role_arns=tuple(options.role_arns), org_role=options.org_role,
        external_id=external.reveal() if external else None, session_name=f"cmdb-{job.name}",
        base_credentials=creds,
    )
    client = aws.ClientSettings(endpoint_url=options.endpoint_url, max_attempts=options.max_attempts,
                                connect_timeout=options.connect_timeout, read_timeout=options.read_timeout)
    config = aws.AwsScanConfig(accounts=sources, regions=tuple(options.regions), client=client,
                               max_workers=job.concurrency)
    scanner: Scanner = aws.AwsScanner(config)
    return scanner


def _inventory(job: Job, options: HostsOptions) -> Any:
    inv_mod = _require("discovery.ssh.inventory", "hosts")
    if isinstance(options.inventory, str):
        path = Path(os.path.expanduser(options.inventory))
        if not path.is_absolute() and job.base_dir is not None:
            path = job.base_dir / path
        return inv_mod.load_inventory(path)
    inv = inv_mod.Inventory.model_validate(options.inventory)
    inv.base_dir = job.base_dir
    return inv


def _build_hosts(job: Job, options: BaseModel, secrets: dict[str, Secret]) -> Scanner:
    scanner_mod = _require("discovery.ssh.scanner", "hosts")
    assert isinstance(options, HostsOptions)
    inv = _inventory(job, options)
    update: dict[str, Any] = {}
    if "ssh_key" in job.spec.credentials:
        # The inventory takes references too: hand it the reference, not the key.
        ref = job.spec.credentials["ssh_key"]
        update["key_env" if ref.kind == "env" else "key_file"] = (
            ref.target if ref.kind == "env" else str(ref.path(job.base_dir)))
    if "key_passphrase" in job.spec.credentials:
        update["passphrase_env"] = job.spec.credentials["key_passphrase"].target
    if update:
        inv.defaults = inv.defaults.model_copy(update=update)
    inv.concurrency = job.concurrency
    connector = NamespaceConnector(options.netns) if options.netns else None
    scanner: Scanner = scanner_mod.SSHScanner(inv, connector=connector)
    return scanner


def _build_snmp(job: Job, options: BaseModel, secrets: dict[str, Secret]) -> Scanner:
    mod = _require("discovery.snmp.scanner", "snmp")
    factory = getattr(mod, "from_job_options", None)
    if factory is None:
        raise ScannerUnavailable("scanner 'snmp' is not available: discovery.snmp.scanner has no from_job_options()")
    scanner: Scanner = factory(options.model_dump(), {k: v.reveal() for k, v in secrets.items()}, job.concurrency)
    return scanner


def _build_vsphere(job: Job, options: BaseModel, secrets: dict[str, Secret]) -> Scanner:
    mod = _require("discovery.vsphere.scanner", "vsphere")
    client = _require("discovery.vsphere.client", "vsphere")
    assert isinstance(options, VsphereOptions)
    user = secrets["user"].reveal() if "user" in secrets else options.user
    if not user or "password" not in secrets:
        raise ValueError("vsphere needs a user (options.user or credentials.user) and credentials.password")
    ca_file = options.ca_file
    if ca_file and not os.path.isabs(os.path.expanduser(ca_file)) and job.base_dir is not None:
        ca_file = str(job.base_dir / ca_file)
    connect = client.ConnectSettings(server=options.server, user=user, password=secrets["password"].reveal(),
                                     verify=not options.insecure, ca_file=ca_file, page_size=options.page_size)
    scanner: Scanner = mod.VsphereScanner(mod.VsphereScanConfig(connect=connect, network_scope=options.network_scope))
    return scanner


REGISTRY: dict[str, ScannerEntry] = {
    e.name: e
    for e in (
        ScannerEntry("aws", "aws", "discovery.aws", AwsOptions,
                     frozenset({"access_key_id", "secret_access_key", "session_token", "external_id"}),
                     _build_aws, "AWS accounts and regions through boto3"),
        ScannerEntry("snmp", "snmp", "discovery.snmp.scanner", SnmpOptions,
                     frozenset({"community", "auth_key", "priv_key"}),
                     _build_snmp, "network devices over SNMP"),
        ScannerEntry("hosts", "ssh", "discovery.ssh.scanner", HostsOptions, frozenset({"ssh_key", "key_passphrase"}),
                     _build_hosts, "Linux hosts over SSH"),
        ScannerEntry("vsphere", "vsphere", "discovery.vsphere.scanner", VsphereOptions,
                     frozenset({"user", "password"}), _build_vsphere, "a vCenter's inventory through pyvmomi"),
    )
}


def register(entry: ScannerEntry) -> None:
    """Add a scanner that lives outside the product packages (the labs' ``sample`` estate).

    The composition root (``cmdb_cli``) calls it at start-up, so the product never imports the labs.
    """
    REGISTRY[entry.name] = entry


def availability(name: str) -> str | None:
    """None when the scanner's module can be found here, else why not."""
    entry = REGISTRY[name]
    try:
        found = importlib.util.find_spec(entry.module) is not None
    except ImportError:
        found = False
    return None if found else f"module {entry.module} is not installed"


def options_problems(spec: JobSpec, base_dir: Path | None = None) -> list[tuple[Loc, str]]:
    """Problems with a job's options and credential keys, as (path inside the job, reason)."""
    entry = REGISTRY[spec.scanner]
    out: list[tuple[Loc, str]] = []
    try:
        options = entry.options.model_validate(spec.options)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ("options", *(p for p in err["loc"] if isinstance(p, (str, int))))
            reason = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"])
            out.append((loc, reason.removeprefix("Value error, ")))
        options = None
    for key in spec.credentials:
        if key not in entry.credentials:
            allowed = ", ".join(sorted(entry.credentials)) or "none"
            out.append((("credentials", key), f"scanner {spec.scanner!r} takes no credential {key!r} (takes: {allowed})"))
    if spec.scanner == "aws" and ("access_key_id" in spec.credentials) != ("secret_access_key" in spec.credentials):
        out.append((("credentials",), "give both access_key_id and secret_access_key, or neither"))
    if spec.scanner == "vsphere" and "password" not in spec.credentials:
        out.append((("credentials",), "give credentials.password (env:NAME or file:/path)"))
    if isinstance(options, VsphereOptions) and not options.user and "user" not in spec.credentials:
        out.append((("options", "user"), "give options.user or credentials.user"))
    if spec.scanner == "snmp" and options is not None:
        out.extend(_snmp_problems(spec))
    if isinstance(options, HostsOptions) and isinstance(options.inventory, str):
        path = Path(os.path.expanduser(options.inventory))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            out.append((("options", "inventory"), f"inventory file {path} does not exist"))
    return out


def _snmp_problems(spec: JobSpec) -> list[tuple[Loc, str]]:
    """The SNMP scanner's own target checks, when its module is here."""
    try:
        targets = importlib.import_module("discovery.snmp.targets")
    except ImportError:
        return []
    raw = dict(spec.options)
    raw["targets"] = [dict(t, credentials=["job"]) if isinstance(t, dict) else t for t in raw.get("targets") or []]
    try:
        targets.parse_targets(raw)
    except ValueError as exc:
        return [(("options",), f"snmp targets: {exc}")]
    return []


def build_scanner(job: Job) -> Scanner:
    """Resolve the job's credentials now and build its scanner; raises ScannerUnavailable or ValueError."""
    entry = REGISTRY.get(job.scanner)
    if entry is None:
        raise ScannerUnavailable(f"unknown scanner {job.scanner!r}")
    options = entry.options.model_validate(job.spec.options)
    return entry.build(job, options, job.resolve_credentials())
