"""The result cache of index-only queries: repeated answers are served from it, never stale after a change."""

from __future__ import annotations

import json
from typing import Any

import httpx

from graph_api.result_cache import CACHE_HEADER, ResultCache
from tests.api.conftest import Api

SOURCE, SCOPE = "aws", "cache-test"
IMPACT = "query($u: [ID!]!) { impact(uids: $u, maxDepth: 6) { truncated impacted { uid name grade depth } owners } }"
HOST = {"class": "physical_server", "identifiers": {"serial_number": "SN-CACHE"}}


def _collect(api: Api, *items: dict[str, Any]) -> None:
    body = {"source": SOURCE, "scope": SCOPE, "complete": False,
            "items": [{"source": SOURCE, "scope": SCOPE, **item} for item in items]}
    r = httpx.post(f"{api.url}/api/v1/collect", json=body, headers=api.headers("collector"), timeout=30)
    assert r.status_code == 200 and r.json()["errors"] == [], r.text


def _vm(name: str) -> dict[str, Any]:
    return {"class": "virtual_machine", "identifiers": {"fqdn": "cache-vm.example.com"},
            "attributes": {"name": name, "owner": "team-cache"}}


def _impact(api: Api, uid: str, role: str = "viewer") -> tuple[str | None, set[tuple[str, str, str, int]], list[str]]:
    """(cache header, {(uid, name, grade, depth)}, owners) of the impact of ``uid``."""
    r = api.gql(IMPACT, {"u": [uid]}, role=role)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body
    report = body["data"]["impact"]
    return (r.headers.get(CACHE_HEADER),
            {(i["uid"], i["name"], i["grade"], i["depth"]) for i in report["impacted"]}, report["owners"])


def test_repeated_impact_is_a_hit_until_an_ingest_changes_the_graph(api: Api) -> None:
    _collect(api, {**HOST, "attributes": {"name": "cache-host"}})
    host = api.uid("cache-host")
    alone = {(host, "cache-host", "DOWN", 0)}
    assert _impact(api, host) == ("miss", alone, [])
    assert _impact(api, host) == ("hit", alone, [])
    assert _impact(api, host, role="admin") == ("miss", alone, [])  # the role is part of the key

    # A VM appears on the host: the next answer is computed afresh and includes it.
    _collect(api, _vm("cache-vm"), {"kind": "rel", "type": "HOSTED_ON", "from": {
        "class": "virtual_machine", "identifiers": {"fqdn": "cache-vm.example.com"}}, "to": HOST})
    vm = api.uid("cache-vm")
    with_vm = alone | {(vm, "cache-vm", "DOWN", 1)}
    assert _impact(api, host) == ("miss", with_vm, [])
    assert _impact(api, host) == ("hit", with_vm, [])

    # A rename is a change too (names come from the index).
    _collect(api, _vm("cache-vm-renamed"))
    assert _impact(api, host) == ("miss", alone | {(vm, "cache-vm-renamed", "DOWN", 1)}, [])

    # A manual edit (GraphQL mutations, the same Ingestor) puts a second VM on the host.
    made = api.data('mutation { createCi(ciClass: VIRTUAL_MACHINE, identifiers: {fqdn: "cache-vm2.example.com"}, '
                    'attributes: {name: "cache-vm2"}) { ... on CIPayload { ci { uid } } } }', role="editor")
    vm2 = made["createCi"]["ci"]["uid"]
    renamed = alone | {(vm, "cache-vm-renamed", "DOWN", 1)}
    assert _impact(api, host) == ("miss", renamed, [])  # any change to the graph drops every entry
    related = api.data('mutation($s: ID!, $d: ID!) { relate(sourceUid: $s, type: HOSTED_ON, targetUid: $d) '
                       '{ __typename } }', {"s": vm2, "d": host}, role="editor")
    assert related["relate"]["__typename"] == "RelationshipPayload"
    assert _impact(api, host) == ("miss", renamed | {(vm2, "cache-vm2", "DOWN", 1)}, [])


def test_only_successful_index_only_queries_are_cached(api: Api) -> None:
    db = api.uid("db-main")
    # Reads of the store are never cached (no header), nor mixed with an impact query.
    r = api.gql("query($u: ID!) { ci(uid: $u) { name } }", {"u": db})
    assert r.status_code == 200 and CACHE_HEADER not in r.headers
    mixed = "query($u: ID!) { ci(uid: $u) { name } impact(uids: [$u]) { impacted { uid } } }"
    for _ in range(2):
        r = api.gql(mixed, {"u": db})
        assert r.status_code == 200 and not r.json().get("errors") and CACHE_HEADER not in r.headers
    # Errors are not kept: an unknown CI is looked up again every time.
    for _ in range(2):
        r = api.gql(IMPACT, {"u": ["no-such-ci-for-cache"]})
        assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert r.headers.get(CACHE_HEADER) == "miss"
    # Other index-only analyses are cached like impact.
    deps = "query($u: ID!) { dependencies(uid: $u) { dependencies { uid depth } } }"
    first, second = api.gql(deps, {"u": db}), api.gql(deps, {"u": db})
    assert (first.headers.get(CACHE_HEADER), second.headers.get(CACHE_HEADER)) == ("miss", "hit")
    assert first.json() == second.json()
    metrics = httpx.get(f"{api.url}/metrics", headers=api.headers("viewer")).text
    assert 'cmdb_graphql_result_cache_total{outcome="hit"}' in metrics


def _key(n: int) -> tuple[str, None, bytes, str]:
    return (f"query {n}", None, b"{}", "viewer")


def _report(items: int) -> dict[str, Any]:
    return {"impact": {"impacted": [{"uid": str(i)} for i in range(items)], "owners": []}}


def test_cache_is_bounded_and_follows_the_graph_version() -> None:
    graph = [object()]
    cache = ResultCache(lambda: graph[0], max_entries=2, max_items=16_000)
    v1 = graph[0]
    assert cache.get(_key(1), v1) is None
    cache.put(_key(1), v1, _report(3))
    cache.put(_key(2), v1, _report(3))
    assert cache.get(_key(1), v1) == _report(3)  # now the most recently used
    cache.put(_key(3), v1, _report(3))  # over 2 entries: the least recently used (2) goes
    assert {n for n in (1, 2, 3) if cache.get(_key(n), v1) is not None} == {1, 3}
    cache.put(_key(4), v1, _report(2_001))  # above 1/8 of the item budget: never kept
    assert cache.get(_key(4), v1) is None
    with_paths = {"impact": {"impacted": [{"uid": str(i), "path": [{"uid": "s"}] * 25} for i in range(100)]}}
    cache.put(_key(5), v1, with_paths)  # 100 CIs but 2,600 items with their explanation paths: not kept
    assert cache.get(_key(5), v1) is None
    # The item budget: 9 reports of 1,900 items do not fit in 16,000; the oldest goes.
    big = ResultCache(lambda: graph[0], max_entries=100, max_items=16_000)
    assert big.get(_key(0), v1) is None
    for n in range(1, 10):
        big.put(_key(n), v1, _report(1_900))
    assert {n for n in range(1, 10) if big.get(_key(n), v1) is not None} == set(range(2, 10))
    # The graph changes: nothing of the old version is served or kept any more.
    graph[0] = v2 = object()
    assert cache.get(_key(3), v2) is None and len(cache) == 0
    cache.put(_key(1), v1, _report(3))  # computed on the old version, finished late
    assert cache.get(_key(1), v2) is None
    cache.put(_key(1), v2, _report(1))
    assert cache.get(_key(1), v2) == _report(1)
    assert cache.get(_key(1), v1) is None  # a request still holding the old version gets no answer


def test_get_queries_are_answered_and_share_the_cache(api: Api) -> None:
    db = api.uid("db-main")
    variables = {"u": [db]}
    posted = api.gql(IMPACT, variables)
    got = httpx.get(f"{api.url}/graphql", params={"query": IMPACT, "variables": json.dumps(variables)},
                    headers=api.headers("viewer"), timeout=30)
    assert got.status_code == 200 and got.headers.get(CACHE_HEADER) == "hit"
    assert got.json() == posted.json() and not got.json().get("errors")
    # A mutation is never run over GET (and never cached).
    mutation = 'mutation { createCi(ciClass: APPLICATION, identifiers: {app_id: "app-get"}) { __typename } }'
    refused = httpx.get(f"{api.url}/graphql", params={"query": mutation}, headers=api.headers("editor"), timeout=30)
    assert refused.status_code == 400 and CACHE_HEADER not in refused.headers
