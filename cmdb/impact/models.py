"""Typed requests and answers of the impact, dependency, path and SPOF queries.

Requests and reports are frozen. The per-CI items (PathStep, ImpactedCI, ...) are
plain slotted dataclasses because an answer holds up to ``max_nodes`` of them and
frozen construction costs about four times as much; treat them as read-only
(explanation paths share their PathStep objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Grade(str, Enum):
    DOWN = "down"
    DEGRADED = "degraded"


class Truncation(str, Enum):
    """Why an answer is partial."""

    MAX_NODES = "max_nodes"  # the node budget was spent
    MAX_DEPTH = "max_depth"  # propagation continues past the depth limit


@dataclass(frozen=True, slots=True)
class ImpactRequest:
    """CIs assumed down (or under change) and the bounds of the propagation.

    ``exclude``: CIs known not to be impacted; propagation stops at them (they never
    apply to the requested CIs themselves). ``rel_types``: relationship types to
    follow (None: all that propagate). ``min_confidence``: traffic/inferred edges
    count only at or above it. ``explain`` False leaves each CI's explanation path
    and text out (empty), for callers that show neither (an API query that selects
    neither); grades, depths, redundancy arithmetic and services are the same.
    """

    uids: tuple[str, ...]
    max_depth: int = 6
    max_nodes: int = 10_000
    exclude: tuple[str, ...] = ()
    rel_types: tuple[str, ...] | None = None
    min_confidence: float = 0.0
    explain: bool = True
    uplinks: tuple[str, ...] | None = None  # the network layer's uplinks for this question (None: the catalog's)


@dataclass(slots=True)
class PathStep:
    """One CI on an explanation path and the stored relationship that led to it.

    The first step of a path is where it starts (``rel_type`` None). Otherwise the
    stored relationship is ``rel_source -[rel_type]-> rel_target`` (one of them is
    the previous step's CI, the other this one; for a network link, the ports or
    the address it joins: ``acc1 Ethernet2 -[SEEN_BEHIND]-> 10.0.10.50``).
    """

    uid: str
    name: str
    ci_class: str
    rel_type: str | None = None
    rel_source: str | None = None
    rel_target: str | None = None


@dataclass(slots=True)
class ImpactedCI:
    """An impacted CI: grade, shortest propagation depth, one explanation path, why.

    ``redundancy`` holds the arithmetic of the redundancy group that graded the CI
    (None when an input alone decided its grade), for callers that weigh margins;
    for a CI the network layer graded, its links towards the uplinks (``up`` of
    ``size`` still lead somewhere, ``required`` 1). ``network`` holds the network
    layer's full arithmetic (paths left of total) for those CIs. ``depth`` is the
    length of the explanation path.
    """

    uid: str
    ci_class: str
    name: str
    grade: Grade
    depth: int
    path: list[PathStep]
    explanation: str
    redundancy: GroupState | None = None
    network: NetworkState | None = None
    lifecycle: str = "active"  # the CI's own: a stale CI may no longer exist
    unknown_inputs: int = 0  # of a degraded CI: inputs past the depth limit or the budget, counted as up


@dataclass(frozen=True, slots=True)
class NetworkState:
    """Why the network layer graded a CI: its links and shortest paths to the uplinks.

    ``links_up`` of ``links_total``: its own links towards the uplinks that still lead
    to a connected CI; ``paths_left`` of ``paths_total``: its shortest paths to the
    uplinks (LAG members counted apart) that avoid every failure; ``min_up`` paths
    keep it connected (1). ``rerouted``: none of its shortest paths is left but a
    longer one is (degraded, not down). ``via``: the port or CI of the lost path
    named in the explanation.
    """

    links_up: int
    links_total: int
    paths_left: int
    paths_total: int
    min_up: int = 1
    rerouted: bool = False
    via: str = ""

    @property
    def margin(self) -> int:
        """How many more of its links may go before it is cut off (negative: cut off)."""
        return self.links_up - self.min_up


@dataclass(frozen=True, slots=True)
class GroupState:
    """A redundancy group at impact time: ``up`` of ``size`` inputs up, ``required`` needed."""

    up: int
    size: int
    required: int

    @property
    def margin(self) -> int:
        """How many more inputs may go down before the CI does (negative: already short)."""
        return self.up - self.required


@dataclass(slots=True)
class ServiceImpact:
    """An impacted application or business service, with its owner to notify."""

    uid: str
    name: str
    ci_class: str
    grade: Grade
    owner: str | None


@dataclass(slots=True)
class UngradedCI:
    """A CI the impact reaches but does not grade, and why.

    ``reason``: ``max_depth`` or ``max_nodes`` (past the bounds: unknown, never up),
    ``retired`` (out of service: propagation stops there).
    """

    uid: str
    ci_class: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImpactReport:
    """Every impacted CI (the requested ones included, depth 0), rolled up to services.

    ``unknown``: the CIs next in line past the depth limit or the node budget, and
    retired CIs the impact reached (it stops at them); none of them is up for sure.
    """

    impacted: list[ImpactedCI]
    truncated: bool
    services: list[ServiceImpact]
    owners: list[str]
    truncated_by: tuple[Truncation, ...] = ()
    unknown: list[UngradedCI] = field(default_factory=list)

    def by_uid(self) -> dict[str, ImpactedCI]:
        return {ci.uid: ci for ci in self.impacted}


@dataclass(frozen=True, slots=True)
class DependencyRequest:
    """Everything ``uid`` needs, up to ``max_depth`` hops, with the impact filters."""

    uid: str
    max_depth: int = 6
    max_nodes: int = 10_000
    exclude: tuple[str, ...] = ()
    rel_types: tuple[str, ...] | None = None
    min_confidence: float = 0.0


@dataclass(slots=True)
class DependencyCI:
    """A CI the root needs. ``path`` runs from the root to it.

    ``redundant``: every way from the root to it (within the reach) crosses a
    redundancy group that tolerates a loss, so losing it alone need not take the
    root down. Not redundant does not make it a single point of failure on its own
    (two hard paths may meet at a group higher up); ``single_points_of_failure``
    answers that exactly.
    """

    uid: str
    ci_class: str
    name: str
    depth: int
    path: list[PathStep]
    redundant: bool


@dataclass(frozen=True, slots=True)
class DependencyReport:
    uid: str
    dependencies: list[DependencyCI]
    truncated: bool
    truncated_by: tuple[Truncation, ...] = ()


@dataclass(frozen=True, slots=True)
class PathReport:
    """How a failure of ``source`` reaches ``target``: shortest first, up to a bound."""

    source: str
    target: str
    shortest: list[PathStep]  # empty when no path within max_depth
    paths: list[list[PathStep]]  # shortest first
    truncated: bool  # more paths exist than max_paths


@dataclass(slots=True)
class SpofCI:
    """A CI whose loss alone takes the service down; ``path`` shows how."""

    uid: str
    ci_class: str
    name: str
    depth: int
    path: list[PathStep]


@dataclass(frozen=True, slots=True)
class SpofReport:
    service_uid: str
    spofs: list[SpofCI]
    considered: int  # dependencies examined
    truncated: bool
    truncated_by: tuple[Truncation, ...] = field(default=())


@dataclass(slots=True)
class NetworkSpof:
    """A device whose loss alone cuts ``cuts_off`` (uids) off every uplink."""

    uid: str
    ci_class: str
    name: str
    cuts_off: list[str]


@dataclass(slots=True)
class NetworkLinkSpof:
    """A link (the stored relationship's ends and ports) whose loss alone cuts ``cuts_off`` off."""

    a_uid: str
    b_uid: str
    a_port: str | None
    b_port: str | None
    rel_type: str
    cuts_off: list[str]


@dataclass(frozen=True, slots=True)
class NetworkSpofReport:
    """Network single points of failure of a site (the network part holding ``uid``) or a service."""

    uid: str
    devices: list[NetworkSpof]
    links: list[NetworkLinkSpof]
    considered: int  # attached CIs examined
    truncated: bool

