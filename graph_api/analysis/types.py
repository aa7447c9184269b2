"""Thin projections of ``cmdb.impact`` reports and ``cmdb.services.topology`` views."""

from __future__ import annotations

from enum import Enum
from typing import Optional, cast

import strawberry

from cmdb.impact import (
    DependencyReport as DependencyReportModel,
)
from cmdb.impact import (
    ImpactedCI as ImpactedCIModel,
)
from cmdb.impact import (
    ImpactReport as ImpactReportModel,
)
from cmdb.impact import (
    NetworkSpofReport as NetworkSpofReportModel,
)
from cmdb.impact import (
    PathReport as PathReportModel,
)
from cmdb.impact import (
    PathStep as PathStepModel,
)
from cmdb.impact import (
    SpofReport as SpofReportModel,
)
from cmdb.services.topology import TopologyView as TopologyViewModel
from graph_api.cis.types import CI, Relationship, ci_type
from graph_api.enums import CIClassName
from graph_api.fields import resolver


@strawberry.enum
class Grade(Enum):
    DOWN = "down"
    DEGRADED = "degraded"


@strawberry.type(description="One CI on an explanation path and the relationship that led to it.")
class PathStep:
    uid: strawberry.ID
    name: str
    ci_class: CIClassName
    rel_type: Optional[str]  # noqa: UP045
    rel_source: Optional[strawberry.ID]  # noqa: UP045
    rel_target: Optional[strawberry.ID]  # noqa: UP045

    @classmethod
    def of(cls, s: PathStepModel) -> PathStep:
        return cls(uid=strawberry.ID(s.uid), name=s.name, ci_class=CIClassName(s.ci_class), rel_type=s.rel_type,
                   rel_source=strawberry.ID(s.rel_source) if s.rel_source else None,
                   rel_target=strawberry.ID(s.rel_target) if s.rel_target else None)


def _steps(steps: list[PathStepModel]) -> list[PathStep]:
    return [PathStep.of(s) for s in steps]


# ImpactedCI and ServiceImpact answer straight from the engine's objects (cmdb.impact's
# ImpactedCI and ServiceImpact): their fields read the attributes of the same names, the
# class and grade serialise by value (CIClassName and Grade values are the domain's
# strings). A report names a few hundred CIs: building a second object for each cost
# ~0.2 ms of a ~2.3 ms request.
@strawberry.type(description="The redundancy arithmetic that graded a CI: `up` of `size` inputs up, `required` needed.")
class Redundancy:
    up: int
    size: int
    required: int
    margin: int = strawberry.field(description="How many more inputs may go before the CI does (negative: short).")


@strawberry.type(description=(
    "Why the network layer graded a CI: its links towards the uplinks still leading somewhere "
    "(`linksUp` of `linksTotal`), its shortest paths to the uplinks left (`pathsLeft` of `pathsTotal`, "
    "LAG members apart), `minUp` paths needed; `rerouted`: connected only over a longer path."
))
class NetworkRedundancy:
    links_up: int
    links_total: int
    paths_left: int
    paths_total: int
    min_up: int
    rerouted: bool
    via: str
    margin: int = strawberry.field(description="How many more of its links may go before it is cut off.")


@strawberry.type(description="An impacted CI: grade, depth, one explanation path and the arithmetic behind it.")
class ImpactedCI:
    uid: strawberry.ID
    ci_class: CIClassName
    name: str
    grade: Grade
    depth: int = strawberry.field(description="The length of the explanation path.")
    explanation: str
    redundancy: Optional[Redundancy] = strawberry.field(  # noqa: UP045
        description="The redundancy group (or, for the network layer, the links) that decided the grade.")
    network: Optional[NetworkRedundancy] = strawberry.field(  # noqa: UP045
        description="The network layer's arithmetic, for CIs graded by their paths to the uplinks.")
    lifecycle: str = strawberry.field(description="The CI's own lifecycle: a stale CI may no longer exist.")
    unknown_inputs: int = strawberry.field(
        description="Of a degraded CI: inputs past the depth limit or the node budget, counted as up.")

    @resolver(description="From a CI assumed down to this one.")
    def path(self, root: strawberry.Parent[ImpactedCIModel]) -> list[PathStep]:
        return _steps(root.path)


@strawberry.type(description="An impacted application or business service and its owner.")
class ServiceImpact:
    uid: strawberry.ID
    name: str
    ci_class: CIClassName
    grade: Grade
    owner: Optional[str]  # noqa: UP045


@strawberry.type(description=(
    "A CI the impact reaches but does not grade: `reason` max_depth or max_nodes (past the bounds: unknown, "
    "never up) or retired (out of service: impact stops there)."))
class UngradedCI:
    uid: strawberry.ID
    ci_class: CIClassName
    name: str
    reason: str


@strawberry.type
class ImpactReport:
    impacted: list[ImpactedCI]
    services: list[ServiceImpact]
    owners: list[str]
    truncated: bool
    truncated_by: list[str]
    unknown: list[UngradedCI]

    @classmethod
    def of(cls, r: ImpactReportModel) -> ImpactReport:
        return cls(
            impacted=cast(list[ImpactedCI], r.impacted), services=cast(list[ServiceImpact], r.services),
            owners=list(r.owners), truncated=r.truncated, truncated_by=[t.value for t in r.truncated_by],
            unknown=cast(list[UngradedCI], r.unknown),
        )


@strawberry.type(description="A CI the root needs; `redundant` when the path crosses a redundancy group.")
class DependencyCI:
    uid: strawberry.ID
    ci_class: CIClassName
    name: str
    depth: int
    redundant: bool
    steps: strawberry.Private[list[PathStepModel]]

    @resolver(description="From the root to this CI.")
    def path(self) -> list[PathStep]:
        return _steps(self.steps)


@strawberry.type
class DependencyReport:
    uid: strawberry.ID
    dependencies: list[DependencyCI]
    truncated: bool
    truncated_by: list[str]

    @classmethod
    def of(cls, r: DependencyReportModel) -> DependencyReport:
        return cls(uid=strawberry.ID(r.uid), truncated=r.truncated, truncated_by=[t.value for t in r.truncated_by],
                   dependencies=[DependencyCI(uid=strawberry.ID(d.uid), ci_class=CIClassName(d.ci_class), name=d.name,
                                              depth=d.depth, steps=d.path, redundant=d.redundant)
                                 for d in r.dependencies])


@strawberry.type(description="How a failure of `source` reaches `target`, shortest first.")
class PathReport:
    source: strawberry.ID
    target: strawberry.ID
    shortest: list[PathStep]
    paths: list[list[PathStep]]
    truncated: bool

    @classmethod
    def of(cls, r: PathReportModel) -> PathReport:
        return cls(source=strawberry.ID(r.source), target=strawberry.ID(r.target), shortest=_steps(r.shortest),
                   paths=[_steps(p) for p in r.paths], truncated=r.truncated)


@strawberry.type(description="A CI whose loss alone takes the service down.")
class SpofCI:
    uid: strawberry.ID
    ci_class: CIClassName
    name: str
    depth: int
    path: list[PathStep]


@strawberry.type
class SpofReport:
    service_uid: strawberry.ID
    spofs: list[SpofCI]
    considered: int
    truncated: bool

    @classmethod
    def of(cls, r: SpofReportModel) -> SpofReport:
        return cls(service_uid=strawberry.ID(r.service_uid), considered=r.considered, truncated=r.truncated,
                   spofs=[SpofCI(uid=strawberry.ID(s.uid), ci_class=CIClassName(s.ci_class), name=s.name,
                                 depth=s.depth, path=_steps(s.path)) for s in r.spofs])


@strawberry.type(description="A device whose loss alone cuts `cutsOff` off every uplink.")
class NetworkSpof:
    uid: strawberry.ID
    ci_class: CIClassName
    name: str
    cuts_off: list[strawberry.ID]


@strawberry.type(description="A link (its ends, ports and the relationship reporting it) whose loss alone cuts `cutsOff` off.")
class NetworkLinkSpof:
    a_uid: strawberry.ID
    b_uid: strawberry.ID
    a_port: Optional[strawberry.ID]  # noqa: UP045
    b_port: Optional[strawberry.ID]  # noqa: UP045
    rel_type: str
    cuts_off: list[strawberry.ID]


@strawberry.type(description="Network single points of failure of a site (the part holding `uid`) or of a service.")
class NetworkSpofReport:
    uid: strawberry.ID
    devices: list[NetworkSpof]
    links: list[NetworkLinkSpof]
    considered: int
    truncated: bool

    @classmethod
    def of(cls, r: NetworkSpofReportModel) -> NetworkSpofReport:
        ids = strawberry.ID
        return cls(
            uid=ids(r.uid), considered=r.considered, truncated=r.truncated,
            devices=[NetworkSpof(uid=ids(d.uid), ci_class=CIClassName(d.ci_class), name=d.name,
                                 cuts_off=[ids(u) for u in d.cuts_off]) for d in r.devices],
            links=[NetworkLinkSpof(a_uid=ids(k.a_uid), b_uid=ids(k.b_uid),
                                   a_port=ids(k.a_port) if k.a_port else None,
                                   b_port=ids(k.b_port) if k.b_port else None, rel_type=k.rel_type,
                                   cuts_off=[ids(u) for u in k.cuts_off]) for k in r.links],
        )


@strawberry.type(description="A CI in a topology view and its distance from the root.")
class TopologyNode:
    ci: CI
    depth: int


@strawberry.type(description="Nodes and edges around a root, ready for drawing.")
class TopologyView:
    root: strawberry.ID
    nodes: list[TopologyNode]
    edges: list[Relationship]
    truncated: bool

    @classmethod
    def of(cls, v: TopologyViewModel) -> TopologyView:
        return cls(root=strawberry.ID(v.root), truncated=v.truncated,
                   nodes=[TopologyNode(ci=ci_type(n.ci), depth=n.depth) for n in v.nodes],
                   edges=[Relationship.of(e) for e in v.edges])
