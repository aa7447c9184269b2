"""Network-aware impact through the real app (GraphQL over ASGI) on its own small estate:
the redundancy arithmetic as fields, and uplinks overridden per query."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from cmdb.ingest import Ingestor
from cmdb.observation import CIRef, Item, Method
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from graph_api.app import create_app
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.builders import obs, ref, rel

QUERY = """query($u: [ID!]!, $up: [ID!]) { impact(uids: $u, uplinks: $up, maxDepth: 2) {
  truncatedBy unknown { name reason }
  impacted { name grade depth explanation path { name relType } lifecycle unknownInputs
             redundancy { up size required margin }
             network { linksUp linksTotal pathsLeft pathsTotal minUp rerouted via margin } } } }"""


def _estate() -> list[Item]:
    """rtr - core - acc1, acc2; h1 behind acc1, h2 behind acc1 and acc2 (FDB evidence)."""
    items: list[Item] = []
    dev: dict[str, CIRef] = {}
    for name, cls in (("rtr", "router"), ("core", "switch"), ("acc1", "switch"), ("acc2", "switch")):
        dev[name] = ref(cls, sys_name=name)
        items.append(obs(cls, {"sys_name": name}, {"name": name}, source="snmp"))

    def port(device: str, name: str) -> CIRef:
        items.append(obs("interface", {"name": name}, {"name": name}, source="snmp", parent=dev[device]))
        return ref("interface", dev[device], name=name)

    for a, pa, b, pb in (("core", "p1", "rtr", "p1"), ("acc1", "p1", "core", "p2"), ("acc2", "p1", "core", "p3")):
        items.append(rel("CONNECTS_TO", port(a, pa), port(b, pb), source="snmp", method=Method.CONFIG))
        items.append(rel("CONNECTS_TO", dev[a], dev[b], source="snmp", method=Method.CONFIG))
    for host, behind in (("h1", [("acc1", "p2")]), ("h2", [("acc1", "p3"), ("acc2", "p2")])):
        h = ref("host", machine_id=host)
        items.append(obs("host", {"machine_id": host}, {"name": host}, source="snmp"))
        nic = ref("interface", h, name="eth0")
        items.append(obs("interface", {"name": "eth0"}, {"name": "eth0"}, source="snmp", parent=h))
        ip = ref("ip_address", address=f"10.0.0.{len(host) + int(host[1:])}", network_scope="global")
        items.append(obs("ip_address", dict(ip.identifiers), {"name": ip.identifiers["address"]}, source="snmp"))
        items.append(rel("HAS_ADDRESS", nic, ip, source="snmp", method=Method.CONFIG))
        for switch, p in behind:
            items.append(rel("SEEN_BEHIND", port(switch, p), ip, source="snmp", method=Method.TRAFFIC, confidence=0.9))
    return items


def _ask(tmp_path: Path, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)
    ingestor = Ingestor(store, catalog)
    run = ingestor.start_run("snmp", "s1")
    ingestor.ingest(run, _estate())
    ingestor.finish_run(run, complete=True)
    tokens = SQLiteTokenStore(tmp_path / "tokens.sqlite")
    token = TokenService(tokens).create("viewer", Role.VIEWER)[1]
    app = create_app(store, catalog, tokens, settings=ApiSettings(store_threads=0))
    uid = {ci.attributes.get("name"): ci.uid for batch in store.iter_cis() for ci in batch
           if ci.ci_class != "interface"}

    async def go() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            out = []
            for q in queries:
                variables = {"u": [uid[n] for n in q["u"]], "up": [uid[n] for n in q["up"]] if q.get("up") else None}
                response = await client.post("/graphql", json={"query": QUERY, "variables": variables},
                                             headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200, response.text
                body = response.json()
                assert not body.get("errors"), body["errors"]
                out.append(body["data"]["impact"])
            return out

    try:
        return asyncio.run(go())
    finally:
        store.close()


def test_network_arithmetic_as_fields_and_uplinks_per_query(tmp_path: Path) -> None:
    acc1, core_with_acc2_uplink = _ask(tmp_path, [{"u": ["acc1"]}, {"u": ["core"], "up": ["acc2"]}])
    by = {i["name"]: i for i in acc1["impacted"] if i["name"] in {"h1", "h2", "acc1"}}
    assert {(n, i["grade"]) for n, i in by.items()} == {("acc1", "DOWN"), ("h1", "DOWN"), ("h2", "DEGRADED")}
    assert by["h2"]["network"] == {"linksUp": 1, "linksTotal": 2, "pathsLeft": 1, "pathsTotal": 2, "minUp": 1,
                                   "rerouted": False, "via": "acc1 p3", "margin": 0}
    assert by["h2"]["redundancy"] == {"up": 1, "size": 2, "required": 1, "margin": 0}
    assert by["h2"]["explanation"] == "1 of 2 paths left (lost via acc1 p3) -> degraded"
    assert by["h1"]["network"]["pathsLeft"] == 0 and by["h1"]["network"]["margin"] == -1
    assert [s["name"] for s in by["h1"]["path"]] == ["acc1", "h1"] and by["h1"]["depth"] == 1
    assert by["acc1"]["network"] is None and by["acc1"]["redundancy"] is None
    assert {(i["lifecycle"], i["unknownInputs"]) for i in acc1["impacted"]} == {("active", 0)}
    # maxDepth 2 reaches the hosts' NICs (acc1 > h1 > h1 eth0): nothing lies past it.
    assert acc1["truncatedBy"] == [] and acc1["unknown"] == []
    # acc2 as the only uplink: the core's loss cuts the router and acc1's side off; h2 keeps acc2.
    grades = {i["name"]: i["grade"] for i in core_with_acc2_uplink["impacted"] if i["name"] in
              {"rtr", "acc1", "acc2", "h1", "h2", "core"}}
    assert grades == {"core": "DOWN", "rtr": "DOWN", "acc1": "DOWN", "h1": "DOWN"}
    # h1's NIC would be at depth 3 (core > acc1 > h1 > eth0): unknown, not up.
    assert core_with_acc2_uplink["truncatedBy"] == ["max_depth"]
    assert {"name": "eth0", "reason": "max_depth"} in core_with_acc2_uplink["unknown"]
