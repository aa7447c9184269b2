"""The index loaded from a real SQLiteStore after ingest, and kept current as an ingest listener."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.observation import Item, Method
from cmdb.topology import TopologyIndex
from tests.builders import DAY, Harness, obs, ref, rel

SHOP = ref("business_service", service_id="svc-shop")
APP = ref("application", app_id="app-web")
POOL = ref("cluster", cluster_id="pool-web")
DB = ref("database", db_id="db-1")
DBHOST = ref("physical_server", serial_number="SN-DB")


def web(n: int):  # type: ignore[no-untyped-def]
    return ref("cloud_instance", instance_id=f"i-web{n}")


def base() -> list[Item]:
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    return [
        obs("business_service", {"service_id": "svc-shop"}, {"name": "shop", "owner": "team-shop"}, **s),
        obs("application", {"app_id": "app-web"}, {"name": "web-app", "owner": "team-web"}, **s),
        obs("database", {"db_id": "db-1"}, {"name": "orders-db"}, **s),
        obs("physical_server", {"serial_number": "SN-DB"}, {"name": "db-host"}, **s),
        rel("DEPENDS_ON", SHOP, APP, **s),
        rel("DEPENDS_ON", APP, DB, method=Method.TRAFFIC, confidence=0.6, **s),
        rel("RUNS_ON", DB, DBHOST, **s),
    ]


def pool(members: tuple[int, ...], at: int) -> list[Item]:
    s: dict[str, Any] = {"source": "aws", "scope": "pool", "at": at}
    items: list[Item] = [obs("cluster", {"cluster_id": "pool-web"}, {"name": "web-pool", "min_up": "2"}, **s)]
    for n in members:
        items.append(obs("cloud_instance", {"instance_id": f"i-web{n}"}, {"name": f"i-web{n}"}, **s))
        items.append(rel("HAS_MEMBER", POOL, web(n), **s))
    return items


def verdicts(service: ImpactService, uid: str, **kw: object) -> dict[str, tuple[str, str]]:
    report = service.impact(ImpactRequest((uid,), **kw))  # type: ignore[arg-type]
    return {ci.name: (ci.grade.value, ci.explanation) for ci in report.impacted}


def test_loaded_from_sqlite_and_kept_current_by_ingest(tmp_path: Path) -> None:
    h = Harness(tmp_path / "cmdb.sqlite")
    live = TopologyIndex.load(h.store, h.schema)  # empty store: everything arrives through the listener
    h.ingestor.listeners.append(live.apply)
    h.run(base(), source="sample", scope="base")
    h.run(pool((1, 2, 3), h.clock.now), source="aws", scope="pool")
    # The app -> pool edge can only be related once both ends exist.
    h.run([rel("RUNS_ON", APP, POOL, source="sample", scope="base")], source="sample", scope="base", complete=False)

    loaded = TopologyIndex.load(h.store, h.schema)
    web1 = h.find("cloud_instance", instance_id="i-web1").uid
    dbhost = h.find("physical_server", serial_number="SN-DB").uid
    for index in (loaded, live):
        service = ImpactService(index, h.schema)
        assert verdicts(service, web1) == {
            "i-web1": ("down", "assumed down"),
            "web-pool": ("degraded", "2 of 3 up, min_up 2 -> degraded"),
            "web-app": ("degraded", "input web-pool degraded (RUNS_ON) -> degraded"),
            "shop": ("degraded", "input web-app degraded (DEPENDS_ON) -> degraded"),
        }
        # The app->db edge is traffic evidence at 0.6 confidence.
        assert set(verdicts(service, dbhost)) == {"db-host", "orders-db", "web-app", "shop"}
        assert set(verdicts(service, dbhost, min_confidence=0.7)) == {"db-host", "orders-db"}
        report = service.impact(ImpactRequest((web1,)))
        assert {(s.name, s.owner) for s in report.services} == {("web-app", "team-web"), ("shop", "team-shop")}

    # i-web3 disappears from complete runs of its scope: stale after 2, so it no longer counts.
    for _ in range(2):
        h.clock.advance(DAY)
        h.run(pool((1, 2), h.clock.now), source="aws", scope="pool")
    fresh = TopologyIndex.load(h.store, h.schema)
    for index in (fresh, live):
        assert verdicts(ImpactService(index, h.schema), web1)["web-pool"] == ("down", "1 of 2 up, min_up 2 -> down")
