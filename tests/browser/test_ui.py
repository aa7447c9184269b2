"""The web interface in Debian's Chromium against the real app over HTTP on 127.0.0.1.

The estate is tests/api/estate.py: checkout -> shop -> web-pool (min_up 2 of web-1..3)
and shop -> db-main -> db-host. What the page shows is compared with what the public
API answers and with what the estate makes true.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import httpx
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cmdb.tokens import Role
from tests.browser.conftest import Served, hosts
from tests.browser.helpers import api, node_point, sign_in, table_rows, uid, wait_drawn

IMPACT = """query($u: [ID!]!) { impact(uids: $u) { impacted { name grade explanation } services { name grade owner } } }"""


def test_search_a_host_open_its_graph_expand_and_run_impact_on_its_database(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.get_by_test_id("search-text").fill("db-host")
    page.get_by_test_id("search-go").click()
    page.get_by_test_id("search-results").wait_for()
    assert [row[:2] for row in table_rows(page, "search-results")] == [("db-host", "physical_server")]

    page.get_by_test_id("search-results").get_by_test_id("open-graph").click()
    wait_drawn(page, {"db-host", "db-main"})
    # Tiers: the database (software) is drawn above its host.
    assert page.evaluate("""() => { const cy = window.cmdbUi.cy, by = (l) => cy.nodes().filter((n) => n.data('label') === l)[0];
                                    return by('db-main').position('y') < by('db-host').position('y'); }""")

    db_main = uid(served, "db-main")
    # A click expands the CI. On a loaded machine a click can land while Cytoscape is still
    # settling the layout and be taken as a pan: click again, as a user would, at most three times.
    for attempt in range(3):
        page.mouse.click(*node_point(page, db_main))
        try:
            page.wait_for_function("() => document.querySelector(\"[data-testid='expanded']\") !== null",
                                   timeout=5_000)
            break
        except PlaywrightTimeout:
            assert attempt < 2, "three clicks on db-main did not expand it"
    wait_drawn(page, {"db-host", "db-main", "shop"})
    expect(page.get_by_test_id("expanded")).to_have_text("Expanded: 1 new CIs.")
    assert set(page.evaluate("() => window.cmdbUi.cy.edges().map((e) => e.data('type'))")) == {"RUNS_ON", "DEPENDS_ON"}

    # Filters: hiding a class hides its CIs (and their relationships).
    page.locator("[data-filter='classes:application']").uncheck()
    wait_drawn(page, {"db-host", "db-main"})
    page.locator("[data-filter='classes:application']").check()
    wait_drawn(page, {"db-host", "db-main", "shop"})

    page.get_by_test_id("side").get_by_role("link", name="impact").click()
    page.get_by_test_id("impacted").wait_for()
    expected = api(served, IMPACT, {"u": [db_main]})["impact"]
    rows = table_rows(page, "impacted")
    assert {(r[0], r[2]) for r in rows} == {(c["name"], c["grade"]) for c in expected["impacted"]} \
        == {("db-main", "DOWN"), ("shop", "DOWN"), ("checkout", "DOWN")}
    assert {(r[0], r[4]) for r in rows} == {(c["name"], c["explanation"]) for c in expected["impacted"]}
    # As drawn: every impacted CI carries its grade's colour class; db-main is the CI assumed down.
    graded = page.evaluate("() => window.cmdbUi.cy.nodes('.grade-down').map((n) => n.data('label'))")
    assert set(graded) == {"db-main", "shop", "checkout"}
    assert page.evaluate("() => window.cmdbUi.cy.nodes('.failed').map((n) => n.data('label'))") == ["db-main"]
    assert set(table_rows(page, "services")) == {("shop", "application", "DOWN", "team-shop"),
                                                 ("checkout", "business_service", "DOWN", "team-shop")}
    expect(page.get_by_test_id("owners")).to_have_text("Owners: team-shop")

    page.mouse.move(*node_point(page, uid(served, "shop")))
    tooltip = page.locator("#tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip.get_by_test_id("tooltip-explanation")).to_have_text("input db-main down (DEPENDS_ON) -> down")
    assert hosts(served.requests) == {"127.0.0.1"}


def test_search_by_class_and_attribute(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.get_by_test_id("search-class").select_option("PHYSICAL_SERVER")
    page.get_by_test_id("search-attr").fill("cpu_count>=40")
    page.get_by_test_id("search-go").click()
    page.get_by_test_id("search-results").wait_for()
    # db-host has 32 CPUs, the ten hypervisors 64; the VMs are another class.
    assert {row[:2] for row in table_rows(page, "search-results")} == {(f"hv-{k}", "physical_server") for k in range(10)}
    page.get_by_test_id("search-attr").fill("cpu_count>=8")
    page.get_by_test_id("search-go").click()
    expect(page.locator("[data-testid='search-results'] tbody tr")).to_have_count(11)
    assert "db-host" in {row[0] for row in table_rows(page, "search-results")}


def test_impact_shows_degraded_grades_with_the_redundancy_arithmetic(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/ui#/impact")
    web_1 = uid(served, "web-1")
    page.get_by_test_id("pick-input").fill(f"web-1 [{web_1}]")
    page.get_by_test_id("pick-add").click()
    expect(page.get_by_test_id("picked")).to_contain_text("web-1")
    page.get_by_test_id("run-impact").click()
    page.get_by_test_id("impacted").wait_for()
    assert {(r[0], r[2], r[4]) for r in table_rows(page, "impacted")} == {
        ("web-1", "DOWN", "assumed down"),
        ("web-pool", "DEGRADED", "2 of 3 up, min_up 2 -> degraded"),
        ("shop", "DEGRADED", "input web-pool degraded (RUNS_ON) -> degraded"),
        ("checkout", "DEGRADED", "input shop degraded (DEPENDS_ON) -> degraded"),
    }
    assert set(page.evaluate("() => window.cmdbUi.cy.nodes('.grade-degraded').map((n) => n.data('label'))")) \
        == {"web-pool", "shop", "checkout"}
    assert set(table_rows(page, "services")) == {("shop", "application", "DEGRADED", "team-shop"),
                                                 ("checkout", "business_service", "DEGRADED", "team-shop")}
    page.mouse.move(*node_point(page, uid(served, "web-pool")))
    expect(page.locator("#tooltip")).to_contain_text("2 of 3 up, min_up 2 -> degraded")
    expect(page.locator("#tooltip")).to_contain_text("path: web-1 → web-pool")
    # The same explanation on the table row.
    page.mouse.move(0, 0)
    page.locator(f"[data-testid='impacted'] tr[data-uid='{uid(served, 'checkout')}']").hover()
    expect(page.locator("#tooltip").get_by_test_id("tooltip-explanation")).to_have_text(
        "input shop degraded (DEPENDS_ON) -> degraded")
    expect(page.get_by_test_id("truncated")).to_have_count(0)

    # A depth limit that cuts the answer short is said, and only what was reached is shown.
    page.goto(f"{served.url}/ui#/impact?uids={web_1}&depth=1&nodes=10000")
    expect(page.get_by_test_id("truncated")).to_have_text(
        "Truncated: the answer stopped at the depth limit; more CIs may be impacted.")
    assert {(r[0], r[2]) for r in table_rows(page, "impacted")} == {("web-1", "DOWN"), ("web-pool", "DEGRADED")}
    assert hosts(served.requests) == {"127.0.0.1"}


def test_exports_of_the_view_and_the_subgraph(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/ui#/impact?uids={uid(served, 'db-main')}")
    page.get_by_test_id("impacted").wait_for()
    wait_drawn(page, {"db-main", "shop", "checkout"})

    def fetch(test_id: str) -> bytes:
        with page.expect_download() as info:
            page.get_by_test_id(test_id).click()
        path = info.value.path()
        with open(path, "rb") as handle:
            return handle.read()

    subgraph = json.loads(fetch("export-json"))
    assert {(n["name"], n["grade"]) for n in subgraph["nodes"]} == {("db-main", "DOWN"), ("shop", "DOWN"), ("checkout", "DOWN")}
    names = {n["uid"]: n["name"] for n in subgraph["nodes"]}
    assert {(names[e["source"]], e["type"], names[e["target"]]) for e in subgraph["edges"]} == {
        ("shop", "DEPENDS_ON", "db-main"), ("checkout", "DEPENDS_ON", "shop")}
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    graph = ET.fromstring(fetch("export-graphml")).find("g:graph", ns)
    assert graph is not None
    assert {n.find("g:data[@key='name']", ns).text for n in graph.findall("g:node", ns)} == {"db-main", "shop", "checkout"}  # type: ignore[union-attr]
    assert len(graph.findall("g:edge", ns)) == 2
    assert fetch("export-png").startswith(b"\x89PNG\r\n\x1a\n")
    svg = fetch("export-svg").decode()
    assert "<svg" in svg and "checkout" in svg
    assert hosts(served.requests) == {"127.0.0.1"}


def test_ci_page_attributes_writers_relationships_evidence_history(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/ui#/ci/{uid(served, 'db-main')}")
    page.get_by_test_id("attributes").wait_for()
    attributes = {row[0]: row for row in table_rows(page, "attributes")}
    assert attributes["engine"][1] == "postgres"
    assert attributes["port"][1] == "5432"
    # Who wrote each attribute (the source of the history entry that set it, and when).
    assert all(re.fullmatch(r"sample \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)", row[2]) for row in attributes.values()), attributes
    relationships = {(r[0], r[1], r[2]) for r in table_rows(page, "relationships")}
    assert relationships == {("←", "DEPENDS_ON", "shop"), ("→", "RUNS_ON", "db-host")}
    assert all("declared" in r[5] or "sample" in r[5] for r in table_rows(page, "relationships"))
    expect(page.get_by_test_id("history")).to_contain_text("create by sample")
    assert hosts(served.requests) == {"127.0.0.1"}


def test_dependencies_highlight_the_services_single_points_of_failure(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/ui#/deps/{uid(served, 'checkout')}")
    page.get_by_test_id("dependencies").wait_for()
    spofs = api(served, "query($u: ID!) { singlePointsOfFailure(service: $u) { spofs { name } } }",
                {"u": uid(served, "checkout")})["singlePointsOfFailure"]["spofs"]
    assert {s["name"] for s in spofs} == {"shop", "db-main", "web-pool", "db-host"}
    assert {r[0] for r in table_rows(page, "dependencies") if r[4] == "SPOF"} == {"shop", "db-main", "web-pool", "db-host"}
    assert set(page.evaluate("() => window.cmdbUi.cy.nodes('.spof').map((n) => n.data('label'))")) \
        == {"shop", "db-main", "web-pool", "db-host"}
    page.goto(f"{served.url}/ui#/path?from={uid(served, 'db-host')}&to={uid(served, 'checkout')}")
    expect(page.get_by_test_id("shortest")).to_have_text("Shortest: db-host → db-main → shop → checkout")


def test_overview_draws_every_ci_and_their_relationships_on_demand(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/ui#/overview")
    page.wait_for_function("() => window.cmdbUi && window.cmdbUi.overview")
    every: set[str] = set()
    relationships: set[str] = set()
    after = None
    while True:
        data = api(served, """query($a: String) { cis(first: 200, after: $a) {
            edges { node { uid neighbours(direction: OUT) { relationship { uid } } } } pageInfo { hasNextPage endCursor } } }""",
                   {"a": after})["cis"]
        every |= {e["node"]["uid"] for e in data["edges"]}
        relationships |= {n["relationship"]["uid"] for e in data["edges"] for n in e["node"]["neighbours"]}
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert set(page.evaluate("() => window.cmdbUi.cy.nodes().map((n) => n.id())")) == every
    assert page.evaluate("() => window.cmdbUi.cy.edges().length") == 0
    # A click on a CI draws its own relationships (in and out).
    db_main = uid(served, "db-main")
    page.mouse.click(*node_point(page, db_main))
    expect(page.get_by_test_id("overview-focus")).to_contain_text("db-main: 2 relationships drawn")
    ends = page.evaluate("() => window.cmdbUi.cy.edges().map((e) => [e.source().data('label'), e.data('type'), e.target().data('label')])")
    assert {tuple(e) for e in ends} == {("shop", "DEPENDS_ON", "db-main"), ("db-main", "RUNS_ON", "db-host")}
    page.get_by_test_id("overview-all-edges").check()
    expect(page.get_by_test_id("overview-focus")).to_have_text(f"{len(relationships)} relationships drawn")
    assert set(page.evaluate("() => window.cmdbUi.cy.edges().map((e) => e.id())")) == relationships


def test_graphiql_is_served_by_the_app_and_runs_a_query(page: Page, served: Served) -> None:
    sign_in(page, served, "viewer")  # GraphiQL takes the tab's token from the sign-in
    page.goto(f"{served.url}/graphql")
    page.locator(".graphiql-execute-button").click()  # the default query: the first five CIs by uid
    first = api(served, "{ cis(first: 5) { edges { node { uid ciClass name } } } }")["cis"]["edges"]
    for edge in first:
        expect(page.locator(".graphiql-response")).to_contain_text(f'"uid": "{edge["node"]["uid"]}"')
        expect(page.locator(".graphiql-response")).to_contain_text(f'"name": "{edge["node"]["name"]}"')
    assert hosts(served.requests) == {"127.0.0.1"}
    # Strawberry's own page loads React and GraphiQL from a CDN; this one only from the app.
    html = httpx.get(f"{served.url}/graphql", headers={"Accept": "text/html"}).text
    assert "/ui/graphiql/graphiql.min.js" in html and "http" not in html.replace("http-equiv", "")


def test_a_wrong_token_is_refused(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/ui")
    page.get_by_test_id("token").fill("not-a-token")
    page.get_by_test_id("signin").click()
    expect(page.get_by_test_id("signin-error")).to_have_text("This token was refused.")
    assert page.get_by_test_id("who").count() == 0
    assert page.evaluate("() => sessionStorage.length") == 0


def test_the_token_in_the_url_fragment_signs_in_and_leaves_the_address_bar(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/ui#token={served.tokens['viewer']}")
    expect(page.get_by_test_id("who")).to_have_text("ui-viewer (viewer)")
    assert served.tokens["viewer"] not in page.url
    assert all(served.tokens["viewer"] not in url for url in served.requests)  # a fragment never reaches the server


def test_a_token_revoked_mid_session_brings_back_the_sign_in(page: Page, served: Served) -> None:
    info, token = served.token_service.create("ui-short-lived", Role.VIEWER)
    page.goto(f"{served.url}/ui#token={token}")
    expect(page.get_by_test_id("who")).to_have_text("ui-short-lived (viewer)")
    served.token_service.revoke(info.token_id)
    page.goto(f"{served.url}/ui#/search?q=web")
    expect(page.get_by_test_id("signin-error")).to_have_text("The server no longer accepts this token.")
    assert page.evaluate("() => sessionStorage.length") == 0


CHANGE = """mutation($input: CreateChangeInput!) { createChange(input: $input) { ... on Change { uid } } }"""


def test_change_page_and_mutation_controls_by_role(page: Page, served: Served) -> None:
    db_host = uid(served, "db-host")
    created = api(served, CHANGE, {"input": {"title": "Patch db-host", "cis": [db_host], "action": "RESTART",
                                             "start": 4_102_444_800_000, "end": 4_102_448_400_000,
                                             "implementationPlan": "apt upgrade; reboot", "backoutPlan": "boot the old kernel"}})
    change = created["createChange"]["uid"]
    api(served, "mutation($u: ID!) { planChange(uid: $u) { __typename } }", {"u": change})

    sign_in(page, served, "viewer")
    page.goto(f"{served.url}/ui#/change/{change}")
    page.get_by_test_id("risk-factors").wait_for()
    plan = api(served, "query($u: ID!) { changePlan(uid: $u) { risk { factors { name points } } } }", {"u": change})
    assert {(r[0], float(r[2])) for r in table_rows(page, "risk-factors")} == {
        (f["name"], f["points"]) for f in plan["changePlan"]["risk"]["factors"]}
    assert page.locator("[data-mutation]").count() == 0
    page.goto(f"{served.url}/ui#/changes")
    page.get_by_test_id("changes").wait_for()
    assert page.locator("[data-mutation]").count() == 0

    page.get_by_test_id("signout").click()
    sign_in(page, served, "editor")
    page.goto(f"{served.url}/ui#/changes")
    page.get_by_test_id("changes").wait_for()
    assert page.locator("[data-mutation='create-change']").count() == 1
    page.goto(f"{served.url}/ui#/change/{change}")
    page.get_by_test_id("risk-factors").wait_for()
    assert {b.get_attribute("data-mutation") for b in page.locator("button[data-mutation]").all()} == {"plan", "approve", "cancel"}

    # Another editor approves: the requester may not approve their own change.
    page.get_by_test_id("signout").click()
    sign_in(page, served, "approver", "editor")
    page.goto(f"{served.url}/ui#/change/{change}")
    page.get_by_test_id("risk-factors").wait_for()
    page.locator("[data-mutation='approve']").click()
    expect(page.get_by_test_id("drift")).to_contain_text("no drift")
    assert api(served, "query($u: ID!) { change(uid: $u) { state } }", {"u": change})["change"]["state"] == "APPROVED"

    # An editor records a change through the form, plans it, and sees the approved one as a conflict.
    page.get_by_test_id("signout").click()
    sign_in(page, served, "editor")
    page.goto(f"{served.url}/ui#/changes")
    page.get_by_test_id("new-title").fill("Reboot db-main")
    page.get_by_test_id("new-cis").fill(uid(served, "db-main"))
    page.get_by_test_id("new-action").select_option("OUTAGE")
    page.get_by_test_id("new-start").fill("2100-01-01T00:30")
    page.get_by_test_id("new-end").fill("2100-01-01T01:30")
    page.get_by_test_id("new-submit").click()
    page.locator("[data-mutation='plan']").click()
    page.get_by_test_id("conflicts").wait_for()
    assert [row[:2] for row in table_rows(page, "conflicts")] == [("Patch db-host", "APPROVED")]
    created_uid = page.url.rsplit("/", 1)[1]
    stored = api(served, "query($u: ID!) { change(uid: $u) { title action state window { start end } } }", {"u": created_uid})
    assert stored["change"] == {"title": "Reboot db-main", "action": "OUTAGE", "state": "PLANNED",
                                "window": {"start": 4_102_446_600_000, "end": 4_102_450_200_000}}
    assert hosts(served.requests) == {"127.0.0.1"}
