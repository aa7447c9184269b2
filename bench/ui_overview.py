"""The web interface's overview of a ~2,000-CI estate in headless Chromium: time to first render and to a pan.

    .venv/bin/python bench/ui_overview.py                 # ~2,000 CIs, 20 pans
    .venv/bin/python bench/ui_overview.py --cis 5000 --pans 50 --breakdown

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
  what costs (``--breakdown`` times each step).

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
from cmdb.topology.index import TopologyIndex
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


# --breakdown: the same overview rebuilt in place, step by step (add, layout, first frame,
# first frame without the relationships, and with them again).
BREAKDOWN = """async () => {
  const v = window.cmdbUi.view, cy = v.cy, out = {};
  const els = cy.elements().jsons(); v.clear();
  cy.startBatch();
  let t = performance.now(); cy.add(els); out.add = performance.now() - t;
  t = performance.now(); v.refreshFilters(); out.filters = performance.now() - t;
  t = performance.now(); v.layout(); out.layout = performance.now() - t;
  t = performance.now(); cy.endBatch(); out.endBatch = performance.now() - t;
  t = performance.now(); await new Promise((r) => cy.one("render", r)); out.render = performance.now() - t;
  const edges = cy.edges().jsons(); cy.edges().remove();
  t = performance.now(); cy.panBy({x: 1, y: 1}); await new Promise((r) => cy.one("render", r)); out.renderNodesOnly = performance.now() - t;
  cy.add(edges);
  t = performance.now(); cy.panBy({x: 1, y: 1}); await new Promise((r) => cy.one("render", r)); out.renderAgain = performance.now() - t;
  return out;
}"""


def task_seconds(cdp: object) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]  # type: ignore[attr-defined]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=2000, help="approximate number of CIs")
    parser.add_argument("--pans", type=int, default=20)
    parser.add_argument("--breakdown", action="store_true", help="also time each step of a rebuild of the view")
    args = parser.parse_args()
    if not built():
        sys.exit("the web interface is not built: run `bash scripts/system-deps.sh`")

    tmp = Path(tempfile.mkdtemp(prefix="ui-overview-"))
    catalog = load_schema()
    store = SQLiteStore(tmp / "cmdb.sqlite", catalog)
    ingestor = Ingestor(store, catalog)
    _, streams = estate_streams(args.cis, rels_per_ci=2.0)
    for source, scope, items in streams:
        run = ingestor.start_run(source, scope)
        ingestor.ingest(run, items)
        ingestor.finish_run(run, complete=True)
    token_store = SQLiteTokenStore(tmp / "tokens.sqlite")
    token = TokenService(token_store).create("bench", Role.VIEWER)[1]
    index = TopologyIndex.load(store, catalog)
    app = create_app(store, catalog, token_store, index=index, settings=ApiSettings())
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
            # The page's main-thread CPU time (Chromium's TaskDuration), which other processes'
            # load on the cores does not inflate the way it inflates wall time.
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(f"{url}/ui?overview#/overview")  # a fresh navigation: the clock starts at 0
            page.wait_for_function("() => window.cmdbUi && window.cmdbUi.overview", timeout=120_000)
            figures = page.evaluate("() => ({ ...window.cmdbUi.overview, sinceNavigation: performance.now() })")
            cpu_load = task_seconds(cdp)
            pans = [float(page.evaluate(PAN)) for _ in range(args.pans)]
            cpu_pans = task_seconds(cdp) - cpu_load
            # Then every relationship drawn too (the checkbox), and the same pans over that picture.
            page.get_by_test_id("overview-all-edges").check()
            page.wait_for_function("() => window.cmdbUi.overview.allEdgesMs !== undefined", timeout=120_000)
            all_edges_ms = float(page.evaluate("() => window.cmdbUi.overview.allEdgesMs"))
            drawn_edges = int(page.evaluate("() => window.cmdbUi.cy.edges().length"))
            pans_all = [float(page.evaluate(PAN)) for _ in range(args.pans)]
            breakdown = page.evaluate(BREAKDOWN) if args.breakdown else None  # with every relationship drawn
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
    print(f"pan to next frame over {len(pans)} pans: median {statistics.median(pans):.1f} ms, "
          f"max {max(pans):.1f} ms  (target < 100 ms)")
    print(f"every relationship drawn ({drawn_edges}): {all_edges_ms:.0f} ms to the frame; pans then: median "
          f"{statistics.median(pans_all):.1f} ms, max {max(pans_all):.1f} ms")
    print(f"page main-thread CPU: {cpu_load * 1000:.0f} ms from navigation to the overview drawn (page load, "
          f"fetch, render); {cpu_pans * 1000 / max(1, len(pans)):.1f} ms per pan")
    if breakdown:
        print("rebuild, ms: " + ", ".join(f"{k} {v:.0f}" for k, v in breakdown.items()))


if __name__ == "__main__":
    main()
