"""The web interface's overview of a ~2,000-CI estate in headless Chromium: time to first render and to a pan.

    .venv/bin/python bench/ui_overview.py                 # ~2,000 CIs, 20 pans
    .venv/bin/python bench/ui_overview.py --cis 5000 --pans 50

Builds the synthetic estate (``bench/estate.py``) into a temporary SQLite store, serves
the real app under uvicorn on 127.0.0.1, opens ``/ui#/overview`` in Debian's Chromium
(headless, driven by Playwright, launched by path) and reads the figures the page itself
measures with ``performance.now()``:

- fetch: the overview's GraphQL pages (200 CIs each, with their outgoing relationships);
- first render: from the data being in hand to Cytoscape's first drawn frame of every CI
  (adding them, already placed in their tier's band, and the draw);
- to first render since navigation: the whole wait a user has (page load + fetch + draw);
- pan: ``cy.panBy`` to the next drawn frame (then one more animation frame), repeated;
- then the same with every relationship drawn ("Draw every relationship"): the time to that
  frame and the pans over it. The overview draws a CI's relationships on a click and all of
  them on demand, because Canvas strokes each edge on its own and that, not the CIs, is
  what costs;
- the renderer's CPU time (Chromium's ProcessTime, every thread of the page's process) for
  the pans and for the overview redrawn in place: the figure the load other processes put on
  the two cores does not inflate.

Targets (docs/benchmarks.md): first render < 2 s, pan < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import estate_streams

from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from graph_api.app import create_app
from graph_api.settings import ApiSettings
from graph_api.web import built
from schema import load_schema

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]

PAN = """async () => {
  const cy = window.cmdbUi.cy;
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  await frame();
  const started = performance.now();
  const drawn = new Promise((resolve) => cy.one("render", resolve));
  cy.panBy({ x: 137, y: -61 });
  await drawn;
  await frame();
  return performance.now() - started;
}"""


# The overview drawn again from scratch in the same page (warm), either the CIs alone or with
# every relationship: the wall time to the frame; the bench reads the renderer's CPU time
# around it (ProcessTime, all its threads), which other processes' load does not inflate.
REDRAW = """async (withEdges) => {
  const v = window.cmdbUi.view, cy = v.cy;
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const nodes = cy.nodes().jsons(), edges = window.cmdbUi.allEdges || cy.edges().jsons();
  window.cmdbUi.allEdges = edges;
  cy.elements().remove();
  await frame(); await frame();
  const started = performance.now();
  const drawn = new Promise((resolve) => cy.one("render", resolve));
  cy.batch(() => v.add(withEdges ? [...nodes, ...edges] : nodes));
  cy.fit(undefined, 20);
  await drawn;
  return performance.now() - started;
}"""


def metric(cdp: object, name: str) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]  # type: ignore[attr-defined]
    return float(next(m["value"] for m in metrics if m["name"] == name))


def cpu_ms(cdp: object, action: object) -> tuple[float, float]:
    """(the action's result, the renderer process's CPU milliseconds while it ran)."""
    before = metric(cdp, "ProcessTime")
    result = float(action())  # type: ignore[operator]
    return result, (metric(cdp, "ProcessTime") - before) * 1000


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=2000, help="approximate number of CIs")
    parser.add_argument("--pans", type=int, default=20)
    args = parser.parse_args()
    if not built():
        sys.exit("the web interface is not built: run `bash scripts/system-deps.sh`")

    tmp = Path(tempfile.mkdtemp(prefix="ui-overview-"))
    catalog = load_schema()
    store = SQLiteStore(tmp / "cmdb.sqlite", catalog)
    ingestor = Ingestor(store, catalog)
    _, streams = estate_streams(args.cis, rels_per_ci=2.0)
    for source, scope, items in streams:
        with ingestor.run(source, scope) as run:
            run.ingest(items)
    token_store = SQLiteTokenStore(tmp / "tokens.sqlite")
    token = TokenService(token_store).create("bench", Role.VIEWER)[1]
    app = create_app(store, catalog, token_store, settings=ApiSettings())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{url}/ui#token={token}")
            page.get_by_test_id("who").wait_for()
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(f"{url}/ui?overview#/overview")  # a fresh navigation: the clock starts at 0
            page.wait_for_function("() => window.cmdbUi && window.cmdbUi.overview", timeout=120_000)
            figures = page.evaluate("() => ({ ...window.cmdbUi.overview, sinceNavigation: performance.now() })")
            cpu_load = metric(cdp, "ProcessTime") * 1000
            pans = [cpu_ms(cdp, lambda: page.evaluate(PAN)) for _ in range(args.pans)]
            # Then every relationship drawn too (the checkbox), and the same pans over that picture.
            page.get_by_test_id("overview-all-edges").check()
            page.wait_for_function("() => window.cmdbUi.overview.allEdgesMs !== undefined", timeout=120_000)
            all_edges_ms = float(page.evaluate("() => window.cmdbUi.overview.allEdgesMs"))
            drawn_edges = int(page.evaluate("() => window.cmdbUi.cy.edges().length"))
            pans_all = [cpu_ms(cdp, lambda: page.evaluate(PAN)) for _ in range(args.pans)]
            redraws = [(with_edges, *cpu_ms(cdp, lambda e=with_edges: page.evaluate(REDRAW, e)))
                       for with_edges in (False, True, False, True)]
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
        token_store.close()
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load}, {version}")
    print(f"overview: {figures['nodes']} CIs, {figures['edges']} relationships fetched")
    print(f"fetch (GraphQL pages): {figures['fetchMs']:.0f} ms")
    print(f"first render (the CIs laid out in tier bands, first frame): {figures['renderMs']:.0f} ms  (target < 2000 ms)")
    print(f"navigation to first render (page load + fetch + render): {figures['sinceNavigation']:.0f} ms")
    def spread(values: list[float]) -> str:
        return f"median {statistics.median(values):.1f}, max {max(values):.1f}"

    print(f"pan to next frame over {len(pans)} pans, ms: wall {spread([w for w, _ in pans])}; renderer CPU "
          f"{spread([c for _, c in pans])}  (target < 100 ms)")
    print(f"every relationship drawn ({drawn_edges}): {all_edges_ms:.0f} ms to the frame; pans then, ms: wall "
          f"{spread([w for w, _ in pans_all])}; renderer CPU {spread([c for _, c in pans_all])}")
    print(f"renderer CPU from navigation to the overview drawn (page load, fetch, render): {cpu_load:.0f} ms")
    for with_edges, wall, cpu in redraws:
        print(f"redrawn in place ({'CIs and every relationship' if with_edges else 'CIs'}): wall {wall:.0f} ms, "
              f"renderer CPU {cpu:.0f} ms")


if __name__ == "__main__":
    main()
