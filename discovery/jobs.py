"""The discovery jobs file: which scanner runs where, with which credentials, and when.

Example::

    defaults: {timeout: 900, concurrency: 8, misfire_grace: 300}
    jobs:
      - name: aws-prod
        scanner: aws
        schedule: {cron: "0 * * * *", jitter: 120}
        credentials:
          access_key_id: env:AWS_ACCESS_KEY_ID
          secret_access_key: file:/etc/cmdb/aws_secret
        options: {regions: [eu-west-1]}
      - name: dc1-hosts
        scanner: hosts
        schedule: {interval: 900, jitter: 30}
        credentials: {ssh_key: file:/etc/cmdb/id_ed25519}
        options: {inventory: hosts.yaml}

Credentials are references only (``env:NAME`` or ``file:/path``): the file holds
no secret, and a reference is read when a run starts, never stored or logged.
Every error names the line of the file it comes from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Loc = tuple[str | int, ...]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_REF = re.compile(r"^(env):([A-Za-z_][A-Za-z0-9_]*)$|^(file):(.+)$")


# -- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobsProblem:
    """One reason the jobs file is refused: where (line, field path) and why."""

    line: int | None
    where: str
    reason: str

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line is not None else ""
        return f"{at}{self.where}: {self.reason}" if self.where else f"{at}{self.reason}"


class JobsFileError(ValueError):
    """The jobs file is invalid; ``problems`` lists every reason with its line."""

    def __init__(self, path: str, problems: list[JobsProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(str(p) for p in problems))

    def render(self) -> str:
        """One problem per line, ``path:line: field: reason`` (the form editors jump to)."""
        return "\n".join(f"{self.path}:{p.line or 0}: {p.where or '-'}: {p.reason}" for p in self.problems)


# -- credential references ----------------------------------------------------------------------


class CredentialRef(BaseModel):
    """``env:NAME`` or ``file:/path``: where a secret is, never the secret itself."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "env" or "file"
    target: str

    @classmethod
    def parse(cls, text: str) -> CredentialRef:
        match = _REF.match(text.strip())
        if not match:
            raise ValueError(f"credential reference {text!r} must be 'env:NAME' or 'file:/path'")
        if match.group(1):
            return cls(kind="env", target=match.group(2))
        return cls(kind="file", target=match.group(4))

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    def path(self, base_dir: Path | None = None) -> Path:
        p = Path(os.path.expanduser(self.target))
        return p if p.is_absolute() or base_dir is None else base_dir / p

    def problem(self, base_dir: Path | None = None) -> str | None:
        """Why this reference does not resolve now, or None when it does."""
        if self.kind == "env":
            return None if os.environ.get(self.target) else f"environment variable {self.target} is not set"
        path = self.path(base_dir)
        if not path.is_file():
            return f"file {path} does not exist"
        if not os.access(path, os.R_OK):
            return f"file {path} is not readable"
        return None

    def resolve(self, base_dir: Path | None = None) -> str:
        """The secret's value (strip a file's trailing newline). Raises ValueError when it does not resolve."""
        reason = self.problem(base_dir)
        if reason is not None:
            raise ValueError(f"credential {self}: {reason}")
        if self.kind == "env":
            return os.environ[self.target]
        return self.path(base_dir).read_text().rstrip("\n")


class Secret:
    """A resolved credential value that never shows itself in logs or reprs."""

    __slots__ = ("_value", "ref")

    def __init__(self, ref: CredentialRef, value: str) -> None:
        self.ref = ref
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.ref})"

    __str__ = __repr__


# -- the model ---------------------------------------------------------------------------------------


class Schedule(BaseModel):
    """A cron expression (five fields, UTC unless ``timezone``) or an interval in seconds, plus jitter."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = None
    interval: float | None = Field(default=None, gt=0)
    jitter: float = Field(default=0, ge=0)
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"invalid cron expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of 'cron' or 'interval'")
        return self

    def describe(self) -> str:
        what = f"cron '{self.cron}' {self.timezone}" if self.cron else f"every {self.interval:g}s"
        return what + (f" (jitter {self.jitter:g}s)" if self.jitter else "")


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(default=3600, gt=0)
    concurrency: int = Field(default=8, ge=1, le=1024)
    misfire_grace: float = Field(default=300, ge=1)


class JobSpec(BaseModel):
    """One discovery job: a scanner, its scope options, credential references and a schedule."""

    model_config = ConfigDict(extra="forbid")

    name: str
    scanner: str
    description: str = ""
    enabled: bool = True
    schedule: Schedule | None = None  # None: run on demand only (`cmdb discover job NAME`)
    timeout: float | None = Field(default=None, gt=0)
    concurrency: int | None = Field(default=None, ge=1, le=1024)
    misfire_grace: float | None = Field(default=None, ge=1)
    credentials: dict[str, CredentialRef] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"job name {value!r} must be letters, digits, '.', '_' or '-' (at most 63)")
        return value

    @field_validator("credentials", mode="before")
    @classmethod
    def _parse_refs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, ref in value.items():
                if not isinstance(ref, str):
                    raise ValueError(f"credential {key!r} must be a reference string ('env:NAME' or 'file:/path')")
                out[key] = CredentialRef.parse(ref)
            return out
        return value


class WebhookSpec(BaseModel):
    """Where the scheduler posts operator events (``discovery.notify``) and when."""

    model_config = ConfigDict(extra="forbid")

    url: str
    secret: CredentialRef  # the HMAC key, by reference
    after_failures: int = Field(default=3, ge=1)  # a job failing this many times in a row
    retired_fraction: float = Field(default=0.2, gt=0, le=1)  # a run retiring more than this share of its scope
    timeout: float = Field(default=10, gt=0)
    attempts: int = Field(default=4, ge=1, le=20)
    retry_delay: float = Field(default=1.0, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"webhook url {value!r} must be http:// or https://")
        return value

    @field_validator("secret", mode="before")
    @classmethod
    def _parse_ref(cls, value: Any) -> Any:
        if isinstance(value, str):
            return CredentialRef.parse(value)
        return value


class Notifications(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: WebhookSpec | None = None


class Retention(BaseModel):
    """Pruning of run records and history, run by the scheduler every ``interval`` seconds
    (``cmdb.retention``: each source and scope keeps its newest run, each CI its newest entry)."""

    model_config = ConfigDict(extra="forbid")

    interval: float = Field(default=3600.0, gt=0)
    runs_days: float | None = Field(default=None, ge=0)
    history_days: float | None = Field(default=None, ge=0)


class JobsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: Defaults = Field(default_factory=Defaults)
    notifications: Notifications = Field(default_factory=Notifications)
    retention: Retention | None = None
    jobs: list[JobSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Job:
    """A validated job with the defaults applied; what the runner and the scheduler use."""

    spec: JobSpec
    timeout: float
    concurrency: int
    misfire_grace: float
    base_dir: Path | None = None
    line: int | None = None
    credential_lines: dict[str, int | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def scanner(self) -> str:
        return self.spec.scanner

    def credential_problems(self) -> list[JobsProblem]:
        """Why this job's credential references do not resolve now (empty: they all do)."""
        out = []
        for key, ref in self.spec.credentials.items():
            reason = ref.problem(self.base_dir)
            if reason is not None:
                out.append(JobsProblem(self.credential_lines.get(key, self.line), f"{self.name}.credentials.{key}",
                                       f"credential {ref}: {reason}"))
        return out

    def resolve_credentials(self) -> dict[str, Secret]:
        """Read every referenced secret now (each run re-reads them, so rotation needs no restart)."""
        return {key: Secret(ref, ref.resolve(self.base_dir)) for key, ref in self.spec.credentials.items()}


@dataclass(slots=True)
class Jobs:
    """The jobs of one file, in file order."""

    path: str
    jobs: list[Job] = field(default_factory=list)
    notifications: Notifications = field(default_factory=Notifications)
    base_dir: Path | None = None
    retention: Retention | None = None

    def get(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        known = ", ".join(j.name for j in self.jobs) or "none"
        raise KeyError(f"no job named {name!r} in {self.path} (jobs: {known})")

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)


# -- YAML with line numbers ----------------------------------------------------------------------------


def _compose(text: str, lines: dict[Loc, int], problems: list[JobsProblem]) -> Any:
    """Parse YAML into plain data, recording each node's 1-based line under its path."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return {}
    constructor = yaml.SafeLoader("")

    def build(n: yaml.Node, loc: Loc) -> Any:
        lines.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            constructor.flatten_mapping(n)
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int)):
                    problems.append(JobsProblem(key_node.start_mark.line + 1, _where(loc), "keys must be strings"))
                    continue
                if key in out:
                    problems.append(JobsProblem(key_node.start_mark.line + 1, _where((*loc, key)), "duplicate key"))
                lines[(*loc, key)] = key_node.start_mark.line + 1
                out[key] = build(value_node, (*loc, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*loc, i)) for i, item in enumerate(n.value)]
        return constructor.construct_object(n, deep=True)

    return build(node, ())


def _where(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    """The line of ``loc``, or of its nearest enclosing node that has one."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _pydantic_problems(exc: ValidationError, lines: dict[Loc, int], prefix: Loc = ()) -> list[JobsProblem]:
    problems = []
    for err in exc.errors():
        loc: Loc = (*prefix, *(p for p in err["loc"] if isinstance(p, (str, int))))
        reason = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown field"
        problems.append(JobsProblem(line_of(lines, loc), _where(loc), reason))
    return problems


# -- loading and validating ------------------------------------------------------------------------------


def parse_jobs(text: str, path: str = "<jobs>", base_dir: Path | None = None, check_credentials: bool = True) -> Jobs:
    """Validate a jobs file's text; raise JobsFileError listing every problem with its line.

    Checks, beyond the shape: cron expressions, unique names, known scanners and
    their options (``discovery.scanner_registry``), and, with
    ``check_credentials``, that every credential reference of an enabled job
    resolves now.
    """
    from discovery.scanner_registry import REGISTRY, options_problems

    lines: dict[Loc, int] = {}
    problems: list[JobsProblem] = []
    try:
        data = _compose(text, lines, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise JobsFileError(path, [JobsProblem(mark.line + 1 if mark else None, "", f"not valid YAML: {exc.problem}")]) from None
    if not isinstance(data, dict):
        raise JobsFileError(path, [JobsProblem(1, "", "the jobs file must be a mapping with a 'jobs' list")])
    # Each job is validated on its own, so one job's mistake does not hide another's.
    specs: list[tuple[int, JobSpec]] = []
    try:
        model = JobsFile.model_validate({**data, "jobs": []})
    except ValidationError as exc:
        problems += _pydantic_problems(exc, lines)
        model = JobsFile()
    raw_jobs = data.get("jobs") or []
    if not isinstance(raw_jobs, list):
        problems.append(JobsProblem(line_of(lines, ("jobs",)), "jobs", "must be a list of jobs"))
        raw_jobs = []
    for i, raw in enumerate(raw_jobs):
        try:
            specs.append((i, JobSpec.model_validate(raw)))
        except ValidationError as exc:
            problems += _pydantic_problems(exc, lines, ("jobs", i))

    seen: dict[str, int] = {}
    jobs: list[Job] = []
    for i, spec in specs:
        loc: Loc = ("jobs", i)
        if spec.name in seen:
            problems.append(JobsProblem(line_of(lines, (*loc, "name")), _where((*loc, "name")),
                                        f"duplicate job name {spec.name!r} (first at job {seen[spec.name]})"))
        seen.setdefault(spec.name, i)
        if spec.scanner not in REGISTRY:
            problems.append(JobsProblem(line_of(lines, (*loc, "scanner")), _where((*loc, "scanner")),
                                        f"unknown scanner {spec.scanner!r} (known: {', '.join(sorted(REGISTRY))})"))
        else:
            for sub_loc, reason in options_problems(spec, base_dir):
                full = (*loc, *sub_loc)
                problems.append(JobsProblem(line_of(lines, full), _where(full), reason))
        if check_credentials and spec.enabled:  # a disabled job's secrets may live elsewhere
            for key, ref in spec.credentials.items():
                unresolved = ref.problem(base_dir)
                if unresolved is not None:
                    full = (*loc, "credentials", key)
                    problems.append(JobsProblem(line_of(lines, full), _where(full), f"credential {ref}: {unresolved}"))
        d = model.defaults
        jobs.append(Job(spec=spec, timeout=spec.timeout or d.timeout, concurrency=spec.concurrency or d.concurrency,
                        misfire_grace=spec.misfire_grace or d.misfire_grace, base_dir=base_dir,
                        line=line_of(lines, loc),
                        credential_lines={k: line_of(lines, (*loc, "credentials", k)) for k in spec.credentials}))
    webhook = model.notifications.webhook
    if webhook is not None and check_credentials:
        unresolved = webhook.secret.problem(base_dir)
        if unresolved is not None:
            full = ("notifications", "webhook", "secret")
            problems.append(JobsProblem(line_of(lines, full), _where(full), f"credential {webhook.secret}: {unresolved}"))
    if problems:
        raise JobsFileError(path, sorted(problems, key=lambda p: (p.line or 0, p.where)))
    return Jobs(path=path, jobs=jobs, notifications=model.notifications, base_dir=base_dir, retention=model.retention)


def load_jobs(path: str | Path, check_credentials: bool = True) -> Jobs:
    """Read and validate a jobs file; relative paths in it resolve against its folder."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise JobsFileError(str(p), [JobsProblem(None, "", f"cannot read: {exc.strerror or exc}")]) from None
    return parse_jobs(text, str(p), base_dir=p.resolve().parent, check_credentials=check_credentials)
