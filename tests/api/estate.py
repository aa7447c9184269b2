"""A small, fully known estate for the API tests, seeded through the Ingestor.

checkout (business_service) -DEPENDS_ON-> shop (application) -RUNS_ON-> web-pool (cluster, min_up 2)
web-pool -HAS_MEMBER-> web-1, web-2, web-3 (virtual_machine); shop -DEPENDS_ON-> db-main (database)
db-main -RUNS_ON-> db-host (physical_server, the single point of failure)
bulk-000..099 (virtual_machine, environment "bulk") -LOCATED_IN-> dc1 (location),
bulk-i -HOSTED_ON-> hv-(i % 10) (physical_server)
"""

from __future__ import annotations

from cmdb.ingest import Ingestor
from cmdb.observation import Item
from tests.builders import obs, ref, rel

SOURCE, SCOPE = "sample", "api-tests"
BULK = 100


def estate_items() -> list[Item]:
    def o(cls: str, ids: dict[str, object], attrs: dict[str, object] | None = None) -> Item:
        return obs(cls, ids, attrs, source=SOURCE, scope=SCOPE)

    def r(t: str, a: object, b: object) -> Item:
        return rel(t, a, b, source=SOURCE, scope=SCOPE)  # type: ignore[arg-type]

    items: list[Item] = [
        o("business_service", {"service_id": "svc-checkout"}, {"name": "checkout", "owner": "team-shop"}),
        o("application", {"app_id": "app-shop"}, {"name": "shop", "version": "1.2.0", "owner": "team-shop"}),
        o("cluster", {"cluster_id": "cl-web"}, {"name": "web-pool", "min_up": "2", "kind": "asg"}),
        o("database", {"db_id": "db-main"}, {"name": "db-main", "engine": "postgres", "port": 5432}),
        o("physical_server", {"serial_number": "SN-DB"}, {"name": "db-host", "cpu_count": 32, "memory_mb": 262144}),
        o("location", {"site_code": "DC1"}, {"name": "dc1", "kind": "datacenter"}),
    ]
    for i in range(1, 4):
        items.append(o("virtual_machine", {"fqdn": f"web-{i}.example.com"},
                       {"name": f"web-{i}", "cpu_count": 2 * i, "memory_mb": 4096 * i, "environment": "prod"}))
    for k in range(10):
        items.append(o("physical_server", {"serial_number": f"SN-HV{k}"}, {"name": f"hv-{k}", "cpu_count": 64}))
    for i in range(BULK):
        items.append(o("virtual_machine", {"fqdn": f"bulk-{i:03d}.example.com"},
                       {"name": f"bulk-{i:03d}", "environment": "bulk", "cpu_count": i % 8 + 1}))
    svc, app = ref("business_service", service_id="svc-checkout"), ref("application", app_id="app-shop")
    pool, db = ref("cluster", cluster_id="cl-web"), ref("database", db_id="db-main")
    items += [
        r("DEPENDS_ON", svc, app), r("RUNS_ON", app, pool), r("DEPENDS_ON", app, db),
        r("RUNS_ON", db, ref("physical_server", serial_number="SN-DB")),
    ]
    for i in range(1, 4):
        items.append(r("HAS_MEMBER", pool, ref("virtual_machine", fqdn=f"web-{i}.example.com")))
    dc1 = ref("location", site_code="DC1")
    for i in range(BULK):
        vm = ref("virtual_machine", fqdn=f"bulk-{i:03d}.example.com")
        items.append(r("LOCATED_IN", vm, dc1))
        items.append(r("HOSTED_ON", vm, ref("physical_server", serial_number=f"SN-HV{i % 10}")))
    return items


def seed(ingestor: Ingestor) -> None:
    with ingestor.run(SOURCE, SCOPE) as run:
        report = run.ingest(estate_items())
        assert not report.rejected, report.rejected


def seeded_names() -> set[str]:
    return {str(item.attributes["name"]) for item in estate_items() if item.kind == "ci" and "name" in item.attributes}
