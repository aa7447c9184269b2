"""Each query over real HTTP, with exact expected sets from the seeded estate."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.estate import BULK, seeded_names

SEEDED = seeded_names()


def _names(edges: list[dict]) -> set[str]:  # type: ignore[type-arg]
    return {e["node"]["name"] for e in edges}


def test_ci_by_uid_with_family_fields(api: Api) -> None:
    uid = api.uid("web-2")
    ci = api.data("""query($u: ID!) { ci(uid: $u) { __typename uid name ciClass lifecycle environment
                     attributes ... on DeviceCI { fqdn cpuCount memoryMb } } }""", {"u": uid})["ci"]
    assert ci["__typename"] == "DeviceCI"
    assert (ci["ciClass"], ci["lifecycle"], ci["environment"]) == ("VIRTUAL_MACHINE", "ACTIVE", "prod")
    assert (ci["fqdn"], ci["cpuCount"], ci["memoryMb"]) == ("web-2.example.com", 4, 8192)
    assert ci["attributes"]["name"] == "web-2"
    assert api.data('{ ci(uid: "no-such-uid") { uid } }')["ci"] is None


def test_cis_class_includes_subclasses(api: Api) -> None:
    q = """query($c: CIClassName!, $s: Boolean!, $t: String) {
             cis(filter: {ciClass: $c, includeSubclasses: $s, text: $t}, first: 500) { edges { node { name ciClass } } } }"""
    # The session's estate is shared: other tests add CIs (a "dup-web-1" host, for one), so
    # answers are read over the seeded estate's names.
    seeded = seeded_names()

    def seeded_only(edges: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(e["node"]["name"], e["node"]["ciClass"]) for e in edges if e["node"]["name"] in seeded]

    found = api.data(q, {"c": "HOST", "s": True, "t": "db-host"})["cis"]["edges"]
    assert seeded_only(found) == [("db-host", "PHYSICAL_SERVER")]
    found = api.data(q, {"c": "DEVICE", "s": True, "t": "web-1"})["cis"]["edges"]
    assert seeded_only(found) == [("web-1", "VIRTUAL_MACHINE")]
    assert seeded_only(api.data(q, {"c": "HOST", "s": False, "t": None})["cis"]["edges"]) == []  # no direct hosts
    servers = api.data(q, {"c": "PHYSICAL_SERVER", "s": False, "t": None})["cis"]["edges"]
    assert {name for name, _ in seeded_only(servers)} == {"db-host"} | {f"hv-{k}" for k in range(10)}


def test_cis_attribute_equality_and_range(api: Api) -> None:
    q = """query($f: [AttributeFilter!]) { cis(filter: {ciClass: VIRTUAL_MACHINE, attributes: $f}, first: 100) {
             edges { node { name } } } }"""
    prod = api.data(q, {"f": [{"attribute": "environment", "op": "EQ", "value": "prod"}]})["cis"]["edges"]
    assert _names(prod) == {"web-1", "web-2", "web-3"}
    big = api.data(q, {"f": [{"attribute": "environment", "op": "EQ", "value": "prod"},
                             {"attribute": "cpu_count", "op": "GE", "value": 4}]})["cis"]["edges"]
    assert _names(big) == {"web-2", "web-3"}
    ranged = api.data(q, {"f": [{"attribute": "environment", "value": "bulk"},
                                {"attribute": "cpu_count", "op": "GT", "value": 6},
                                {"attribute": "cpu_count", "op": "LE", "value": 8}]})["cis"]["edges"]
    assert _names(ranged) == {f"bulk-{i:03d}" for i in range(BULK) if i % 8 + 1 in (7, 8)}


def test_cis_text_and_lifecycle(api: Api) -> None:
    found = api.data('{ cis(filter: {text: "web-pool"}) { edges { node { name ciClass } } } }')["cis"]["edges"]
    assert [(e["node"]["name"], e["node"]["ciClass"]) for e in found] == [("web-pool", "CLUSTER")]
    retired = api.data('{ cis(filter: {lifecycle: [RETIRED], text: "db-main"}) { edges { node { name } } } }')
    assert retired["cis"]["edges"] == []


def test_cis_relay_pagination(api: Api) -> None:
    q = """query($after: String) { cis(filter: {attributes: [{attribute: "environment", value: "bulk"}]},
             first: 30, after: $after) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        conn = api.data(q, {"after": after})["cis"]
        seen += [e["node"]["name"] for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        assert conn["edges"][-1]["cursor"] == after
    assert pages == 4
    assert sorted(seen) == [f"bulk-{i:03d}" for i in range(BULK)]
    assert len(seen) == len(set(seen))


def test_cis_unknown_attribute_is_typed_error(api: Api) -> None:
    r = api.gql('{ cis(filter: {attributes: [{attribute: "nope", value: 1}]}) { edges { cursor } } }')
    err = r.json()["errors"][0]
    assert err["extensions"] == {"code": "INVALID_ARGUMENT", "field": "filter.attributes"}
    assert "nope" in err["message"]


def test_neighbours_with_direction_and_types(api: Api) -> None:
    shop = api.uid("shop")
    q = """query($u: ID!, $d: Direction!, $t: [RelationshipTypeName!]) { neighbours(uid: $u, direction: $d, types: $t) {
             direction relationship { type evidence { method confidence sources timesSeen } } ci { name } } }"""
    both = api.data(q, {"u": shop, "d": "BOTH", "t": None})["neighbours"]
    assert {(n["direction"], n["relationship"]["type"], n["ci"]["name"]) for n in both} == {
        ("IN", "DEPENDS_ON", "checkout"), ("OUT", "RUNS_ON", "web-pool"), ("OUT", "DEPENDS_ON", "db-main")}
    assert {n["relationship"]["evidence"]["method"] for n in both} == {"declared"}
    assert all(n["relationship"]["evidence"]["sources"] == ["sample"] for n in both)
    out = api.data(q, {"u": shop, "d": "OUT", "t": ["DEPENDS_ON"]})["neighbours"]
    assert [n["ci"]["name"] for n in out] == ["db-main"]


def test_ci_neighbours_field_and_relationship_ends(api: Api) -> None:
    pool = api.uid("web-pool")
    data = api.data("""query($u: ID!) { ci(uid: $u) { neighbours(direction: OUT) {
                          relationship { source { name } target { name } } } } }""", {"u": pool})
    pairs = {(n["relationship"]["source"]["name"], n["relationship"]["target"]["name"])
             for n in data["ci"]["neighbours"]}
    assert pairs == {("web-pool", "web-1"), ("web-pool", "web-2"), ("web-pool", "web-3")}


def test_topology_nodes_and_edges(api: Api) -> None:
    shop = api.uid("shop")
    topo = api.data("""query($u: ID!) { topology(root: $u, depth: 2, direction: OUT) {
                         root truncated nodes { depth ci { name } } edges { type source { name } target { name } } } }""",
                    {"u": shop})["topology"]
    assert topo["truncated"] is False
    assert {(n["ci"]["name"], n["depth"]) for n in topo["nodes"]} == {
        ("shop", 0), ("web-pool", 1), ("db-main", 1), ("web-1", 2), ("web-2", 2), ("web-3", 2), ("db-host", 2)}
    assert {(e["source"]["name"], e["type"], e["target"]["name"]) for e in topo["edges"]} == {
        ("shop", "RUNS_ON", "web-pool"), ("shop", "DEPENDS_ON", "db-main"), ("db-main", "RUNS_ON", "db-host"),
        ("web-pool", "HAS_MEMBER", "web-1"), ("web-pool", "HAS_MEMBER", "web-2"), ("web-pool", "HAS_MEMBER", "web-3")}
    assert api.data('{ topology(root: "nope") { root } }')["topology"] is None


def test_impact_grades_and_services(api: Api) -> None:
    db_host = api.uid("db-host")
    report = api.data("""query($u: [ID!]!) { impact(uids: $u) { truncated owners
                           impacted { name grade depth explanation path { name relType } }
                           services { name grade owner } } }""", {"u": [db_host]})["impact"]
    # other tests add CIs around db-host (a filesystem, a manual app); judge the seeded ones
    graded = {(i["name"], i["grade"], i["depth"]) for i in report["impacted"] if i["name"] in SEEDED}
    assert graded == {("db-host", "DOWN", 0), ("db-main", "DOWN", 1), ("shop", "DOWN", 2), ("checkout", "DOWN", 3)}
    checkout = next(i for i in report["impacted"] if i["name"] == "checkout")
    assert [s["name"] for s in checkout["path"]] == ["db-host", "db-main", "shop", "checkout"]
    assert {(s["name"], s["grade"], s["owner"]) for s in report["services"] if s["name"] in SEEDED} == {
        ("shop", "DOWN", "team-shop"), ("checkout", "DOWN", "team-shop")}
    assert "team-shop" in report["owners"]


def test_impact_redundancy_degrades(api: Api) -> None:
    web1 = api.uid("web-1")
    report = api.data("query($u: [ID!]!) { impact(uids: $u) { impacted { name grade explanation } } }",
                      {"u": [web1]})["impact"]
    grades = {i["name"]: i["grade"] for i in report["impacted"]}
    assert grades == {"web-1": "DOWN", "web-pool": "DEGRADED", "shop": "DEGRADED", "checkout": "DEGRADED"}
    pool = next(i for i in report["impacted"] if i["name"] == "web-pool")
    assert "2 of 3" in pool["explanation"]


def test_impact_unknown_ci_is_typed_error(api: Api) -> None:
    err = api.gql('{ impact(uids: ["nope"]) { truncated } }').json()["errors"][0]
    assert err["extensions"]["code"] == "NOT_FOUND"
    assert "nope" in err["message"]
    err = api.gql('{ impact(uids: ["x"], maxDepth: 99) { truncated } }').json()["errors"][0]
    assert err["extensions"] == {"code": "INVALID_ARGUMENT", "field": "maxDepth"}


def test_dependencies(api: Api) -> None:
    checkout = api.uid("checkout")
    deps = api.data("query($u: ID!) { dependencies(uid: $u) { truncated dependencies { name depth redundant } } }",
                    {"u": checkout})["dependencies"]
    assert {(d["name"], d["depth"], d["redundant"]) for d in deps["dependencies"]} == {
        ("shop", 1, False), ("web-pool", 2, False), ("db-main", 2, False), ("db-host", 3, False),
        ("web-1", 3, True), ("web-2", 3, True), ("web-3", 3, True)}


def test_paths(api: Api) -> None:
    a, b = api.uid("db-host"), api.uid("checkout")
    report = api.data("query($a: ID!, $b: ID!) { paths(source: $a, target: $b) { truncated shortest { name } paths { name } } }",
                      {"a": a, "b": b})["paths"]
    assert [s["name"] for s in report["shortest"]] == ["db-host", "db-main", "shop", "checkout"]
    assert len(report["paths"]) == 1


def test_single_points_of_failure(api: Api) -> None:
    checkout = api.uid("checkout")
    report = api.data("query($s: ID!) { singlePointsOfFailure(service: $s) { truncated spofs { name depth } } }",
                      {"s": checkout})["singlePointsOfFailure"]
    assert {(s["name"], s["depth"]) for s in report["spofs"]} == {
        ("shop", 1), ("web-pool", 2), ("db-main", 2), ("db-host", 3)}


def test_history(api: Api) -> None:
    uid = api.uid("db-main")
    entries = api.data("query($u: ID!) { history(uid: $u) { action source changes runId at } }", {"u": uid})["history"]
    assert entries[0]["action"] == "create"
    assert entries[0]["source"] == "sample"
    assert entries[0]["changes"]["engine"] == [None, "postgres"]
    assert entries[0]["at"] > 1_700_000_000_000  # a Long, beyond 32-bit Int


def test_scan_runs(api: Api) -> None:
    runs = api.data('{ scanRuns(source: "sample", scope: "api-tests") { source scope status counts startedAt } }')
    assert [(r["source"], r["scope"], r["status"]) for r in runs["scanRuns"]] == [("sample", "api-tests", "COMPLETE")]
    assert runs["scanRuns"][0]["counts"]["created"] == 119
