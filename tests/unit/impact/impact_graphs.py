"""A tiny builder of topology graphs for impact and topology tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from cmdb.impact import ImpactService
from cmdb.model import CI, ChangeSet, Lifecycle, Relationship, RelEvidence, rel_uid
from cmdb.store.protocol import EdgeRow, NodeRow
from cmdb.topology import TopologyIndex
from schema import Schema, load_schema


@dataclass
class Graph:
    """CIs and relationships by uid; ``ci`` and ``rel`` return self for chaining."""

    nodes: dict[str, NodeRow] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], EdgeRow] = field(default_factory=dict)
    schema: Schema = field(default_factory=load_schema)

    def ci(self, uid: str, ci_class: str, *, min_up: str | None = None, owner: str | None = None,
           name: str | None = None) -> Graph:
        self.nodes[uid] = NodeRow(uid, ci_class, "active", name or uid, min_up, owner)
        return self

    def rel(self, source: str, rel_type: str, target: str, *, method: str = "declared",
            confidence: float = 1.0, status: str = "active") -> Graph:
        self.edges[(source, rel_type, target)] = EdgeRow(source, rel_type, target, method, confidence, status)
        return self

    def index(self, **kwargs: int) -> TopologyIndex:
        return TopologyIndex.from_rows(list(self.nodes.values()), list(self.edges.values()), self.schema, **kwargs)

    def service(self) -> ImpactService:
        return ImpactService(self.index(), self.schema)


def as_changeset(nodes: list[NodeRow], edges: list[EdgeRow]) -> ChangeSet:
    """The ChangeSet the ingest path would hand a listener for these rows."""
    cis = []
    for n in nodes:
        attrs: dict[str, object] = {"name": n.name}
        if n.min_up is not None:
            attrs["min_up"] = n.min_up
        if n.owner is not None:
            attrs["owner"] = n.owner
        cis.append(CI(uid=n.uid, ci_class=n.ci_class, attributes=attrs, status=Lifecycle(n.status)))
    rels = [
        Relationship(
            uid=rel_uid(e.source_uid, e.type, e.target_uid), type=e.type, source_uid=e.source_uid,
            target_uid=e.target_uid, attributes={},
            evidence=RelEvidence(["test"], 0, 0, 1, e.method, e.confidence), status=Lifecycle(e.status),
        )
        for e in edges
    ]
    return ChangeSet(cis=cis, relationships=rels)


def grades(report: object) -> dict[str, str]:
    """uid -> grade value of an ImpactReport."""
    return {ci.uid: ci.grade.value for ci in report.impacted}  # type: ignore[attr-defined]


def three_tier_graph() -> Graph:
    """shop -> app -> (lb -> pool{web1..3, min_up 2}) and (db -> dbhost)."""
    g = Graph()
    g.ci("shop", "business_service", owner="team-shop").ci("app", "application", owner="team-app")
    g.ci("lb", "load_balancer").ci("pool", "cluster", min_up="2")
    for i in (1, 2, 3):
        g.ci(f"web{i}", "virtual_machine").rel("pool", "HAS_MEMBER", f"web{i}")
    g.ci("db", "database").ci("dbhost", "physical_server")
    g.rel("shop", "DEPENDS_ON", "app").rel("app", "DEPENDS_ON", "lb").rel("lb", "ROUTES_TO", "pool")
    g.rel("app", "DEPENDS_ON", "db").rel("db", "RUNS_ON", "dbhost")
    return g


def chain_graph() -> Graph:
    """rack -> server -> VM -> process -> application -> business service (containment chain)."""
    g = Graph()
    g.ci("rack", "rack").ci("srv", "physical_server").ci("vm", "virtual_machine")
    g.ci("proc", "software_instance").ci("app", "application", owner="team-app")
    g.ci("bs", "business_service", owner="team-bs")
    g.rel("rack", "CONTAINS", "srv").rel("vm", "HOSTED_ON", "srv").rel("proc", "RUNS_ON", "vm")
    g.rel("app", "RUNS_ON", "proc").rel("bs", "DEPENDS_ON", "app")
    return g
