"""A small estate for change-planning tests, ingested through the real pipeline.

    checkout (business_service, critical, team-shop)
      -DEPENDS_ON-> web-app (application, team-web) -RUNS_ON-> web-pool (cluster, min_up 2)
                                                    web-pool -HAS_MEMBER-> i-web1, i-web2, i-web3
      -DEPENDS_ON-> orders-app (application, team-orders) -RUNS_ON-> orders-host
    payroll (business_service, low, team-hr) -DEPENDS_ON-> hr-app -RUNS_ON-> hr-host

The web pool's members and their HAS_MEMBER edges live in their own AWS scope
(``pool``), so a complete run of that scope can age a member out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cmdb.changes import (
    ChangeAction,
    ChangeModelKind,
    ChangePlanner,
    ChangePolicy,
    ChangeService,
    NewChange,
    PlanOptions,
    RiskRules,
    load_policy,
)
from cmdb.impact import ImpactService
from cmdb.observation import CIRef, Item, Method
from cmdb.store.changes_sqlite import SQLiteChangeRepository
from cmdb.store.protocol import GraphStore
from cmdb.topology.index import TopologyIndex
from tests.builders import DAY, T0, Harness, obs, ref, rel

HOUR = 3_600_000

CHECKOUT = ref("business_service", service_id="svc-checkout")
PAYROLL = ref("business_service", service_id="svc-payroll")
BILLING = ref("business_service", service_id="svc-billing")
WEB_APP = ref("application", app_id="app-web")
ORDERS_APP = ref("application", app_id="app-orders")
HR_APP = ref("application", app_id="app-hr")
REPORTING = ref("application", app_id="app-reporting")
POOL = ref("cluster", cluster_id="pool-web")
ORDERS_HOST = ref("physical_server", serial_number="SN-ORD1")
HR_HOST = ref("physical_server", serial_number="SN-HR1")


def web(n: int) -> CIRef:
    return ref("cloud_instance", instance_id=f"i-web{n}")


def base_items() -> list[Item]:
    """Everything outside the pool scope (source ``sample``, scope ``base``)."""
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    return [
        obs("business_service", {"service_id": "svc-checkout"},
            {"name": "checkout", "owner": "team-shop", "criticality": "critical"}, **s),
        obs("business_service", {"service_id": "svc-payroll"},
            {"name": "payroll", "owner": "team-hr", "criticality": "low"}, **s),
        obs("application", {"app_id": "app-web"}, {"name": "web-app", "owner": "team-web"}, **s),
        obs("application", {"app_id": "app-orders"}, {"name": "orders-app", "owner": "team-orders"}, **s),
        obs("application", {"app_id": "app-hr"}, {"name": "hr-app", "owner": "team-hr"}, **s),
        obs("physical_server", {"serial_number": "SN-ORD1"}, {"name": "orders-host"}, **s),
        obs("physical_server", {"serial_number": "SN-HR1"}, {"name": "hr-host"}, **s),
        rel("DEPENDS_ON", CHECKOUT, WEB_APP, **s),
        rel("DEPENDS_ON", CHECKOUT, ORDERS_APP, **s),
        rel("DEPENDS_ON", PAYROLL, HR_APP, **s),
        rel("RUNS_ON", ORDERS_APP, ORDERS_HOST, **s),
        rel("RUNS_ON", HR_APP, HR_HOST, **s),
    ]


def pool_items(members: Sequence[int] = (1, 2, 3), at: int = T0) -> list[Item]:
    """The web pool and its members (source ``aws``, scope ``pool``)."""
    s: dict[str, Any] = {"source": "aws", "scope": "pool", "at": at}
    items: list[Item] = [obs("cluster", {"cluster_id": "pool-web"}, {"name": "web-pool", "min_up": "2"}, **s)]
    for n in members:
        items.append(obs("cloud_instance", {"instance_id": f"i-web{n}"}, {"name": f"i-web{n}"}, **s))
        items.append(rel("HAS_MEMBER", POOL, web(n), **s))
    return items


def test_policy() -> ChangePolicy:
    """The packaged change models, with approver groups filled in: carol and dave sit on the CAB,
    erin is the change manager, frank is on the emergency CAB."""
    base = load_policy()
    return base.model_copy(update={"groups": {"cab": ("carol", "dave"), "change-manager": ("erin",),
                                              "ecab": ("frank",)}})


test_policy.__test__ = False  # type: ignore[attr-defined]  # a builder, not a test


class Scenario:
    """The estate in a real store (SQLite unless given), the topology index fed by the ingestor, and the change service."""

    def __init__(self, tmp_path: Path, rules: RiskRules | None = None, options: PlanOptions | None = None,
                 policy: ChangePolicy | None = None, store: GraphStore | None = None) -> None:
        self.h = Harness(tmp_path / "cmdb.sqlite", store=store)
        self.h.run(base_items(), source="sample", scope="base")
        self.h.run(pool_items(), source="aws", scope="pool")
        self.h.run([rel("RUNS_ON", WEB_APP, POOL, source="sample", scope="base")], source="sample", scope="base",
                   complete=False)
        self.index = TopologyIndex.load(self.h.store, self.h.schema)
        self.h.ingestor.listeners.append(self.index.apply)
        # Changes live beside an SQLite store, in their own file beside any other.
        self.repo = SQLiteChangeRepository(getattr(self.h.store, "path", tmp_path / "changes.sqlite"))
        self.planner = ChangePlanner(ImpactService(self.index, self.h.schema), self.h.store, self.repo,
                                     self.h.schema, rules=rules, options=options or PlanOptions(),
                                     clock=self.h.clock)
        self.service = ChangeService(self.planner, self.repo, clock=self.h.clock, policy=policy or test_policy())

    def uid(self, cls: str, **attrs: Any) -> str:
        return str(self.h.find(cls, **attrs).uid)

    def named(self, name: str) -> str:
        matches = [c.uid for c in self.h.all_cis() if c.attributes.get("name") == name]
        assert len(matches) == 1, name
        return str(matches[0])

    def change(self, title: str, names: Sequence[str], start: int, hours: int = 2,
               action: ChangeAction = ChangeAction.OUTAGE, requester: str = "alice",
               model: ChangeModelKind = ChangeModelKind.NORMAL, template: str | None = None) -> str:
        new = NewChange(title=title, cis=tuple(self.named(n) for n in names), action=action, start=start,
                        end=start + hours * HOUR, requester=requester, model=model, template=template,
                        implementation_plan=f"{action.value} {', '.join(names)}",
                        backout_plan="restore the previous state from the runbook")
        return self.service.create(new).uid

    def close(self) -> None:
        self.repo.close()
        self.h.store.close()


__all__ = ["DAY", "HOUR", "T0", "Method", "Scenario", "pool_items", "test_policy"]
