from __future__ import annotations

import pytest
from impact_graphs import Graph


@pytest.fixture
def three_tier() -> Graph:
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


@pytest.fixture
def chain() -> Graph:
    """rack -> server -> VM -> process -> application -> business service (containment chain)."""
    g = Graph()
    g.ci("rack", "rack").ci("srv", "physical_server").ci("vm", "virtual_machine")
    g.ci("proc", "software_instance").ci("app", "application", owner="team-app")
    g.ci("bs", "business_service", owner="team-bs")
    g.rel("rack", "CONTAINS", "srv").rel("vm", "HOSTED_ON", "srv").rel("proc", "RUNS_ON", "vm")
    g.rel("app", "RUNS_ON", "proc").rel("bs", "DEPENDS_ON", "app")
    return g
