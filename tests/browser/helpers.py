"""What the browser tests do again and again: sign in, read the graph as drawn, click a node."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page

from tests.browser.conftest import Served


def api(served: Served, query: str, variables: dict[str, Any] | None = None, role: str = "editor") -> dict[str, Any]:
    """The public API over HTTP (what the page must agree with)."""
    body = httpx.post(f"{served.url}/graphql", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": f"Bearer {served.tokens[role]}"}, timeout=30).json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


def uid(served: Served, name: str) -> str:
    edges = api(served, "query($t: String!) { cis(filter: {text: $t}, first: 20) { edges { node { uid name } } } }",
                {"t": name})["cis"]["edges"]
    [found] = [e["node"]["uid"] for e in edges if e["node"]["name"] == name]
    return str(found)


def sign_in(page: Page, served: Served, who: str, role: str | None = None) -> None:
    """Sign in with the token named ``ui-<who>``, whose role is ``role`` (by default ``who`` itself)."""
    page.goto(f"{served.url}/ui")
    page.get_by_test_id("token").fill(served.tokens[who])
    page.get_by_test_id("signin").click()
    page.get_by_test_id("who").wait_for()
    assert page.get_by_test_id("who").inner_text() == f"ui-{who} ({role or who})"


def drawn(page: Page, selector: str = "node") -> set[str]:
    """Labels of the elements Cytoscape draws (visible ones) matching ``selector``."""
    return set(page.evaluate("(sel) => window.cmdbUi.cy.$(sel).filter(':visible').map((n) => n.data('label'))",
                             selector))


def wait_drawn(page: Page, labels: set[str]) -> None:
    """Wait until exactly ``labels`` are laid out and drawn (fails after the page's default timeout)."""
    page.wait_for_function(
        """(want) => { const cy = window.cmdbUi && window.cmdbUi.cy; if (!cy) return false;
             const got = cy.nodes(':visible').map((n) => n.data('label')).sort();
             return JSON.stringify(got) === JSON.stringify(want) && cy.container().dataset.ready === 'true'; }""",
        arg=sorted(labels))


def node_point(page: Page, node_uid: str) -> tuple[float, float]:
    """Where a node is on screen (page coordinates), to click or hover it like a user, once drawn."""
    page.wait_for_function("() => window.cmdbUi.cy.container().dataset.ready === 'true'")
    point = page.evaluate(
        """(id) => { const cy = window.cmdbUi.cy, n = cy.getElementById(id), p = n.renderedPosition();
             cy.container().scrollIntoView({ block: 'nearest' });
             const box = cy.container().getBoundingClientRect(); return [box.left + p.x, box.top + p.y]; }""", node_uid)
    return float(point[0]), float(point[1])


def table_rows(page: Page, test_id: str) -> list[tuple[str, ...]]:
    return [tuple(cell.strip() for cell in row) for row in page.evaluate(
        "(id) => [...document.querySelectorAll(`[data-testid='${id}'] tbody tr`)].map((tr) => [...tr.cells].map((td) => td.innerText))",
        test_id)]
