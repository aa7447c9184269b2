"""The interface's assets: pinned by the lock file, served from inside the package, under a same-origin CSP."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page
from starlette.routing import Route

import graph_api.web as web
from tests.browser.conftest import Served, hosts

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"index.html", "app.js", "app.css", "graphiql/index.html", "graphiql/init.js", "graphiql/graphiql.min.js",
           "graphiql/graphiql.min.css", "graphiql/react.production.min.js", "graphiql/react-dom.production.min.js"}


def test_pages_and_assets_are_served_with_a_same_origin_policy(served: Served) -> None:
    for path, kind in [("/ui", "text/html"), ("/ui/app.js", "javascript"), ("/ui/graphiql/graphiql.min.js", "javascript"),
                       ("/graphql", "text/html")]:
        response = httpx.get(f"{served.url}{path}", headers={"Accept": "text/html"})
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"], path
        assert response.headers["content-security-policy"] == web.CSP, path
    assert "default-src 'self'" in web.CSP and "connect-src 'self'" in web.CSP


def test_the_served_libraries_are_the_versions_the_lock_file_pins(served: Served) -> None:
    lock = json.loads((ROOT / "ui" / "package-lock.json").read_text())["packages"]
    served_versions = httpx.get(f"{served.url}/ui/versions.json").json()
    assert served_versions == {name: lock[f"node_modules/{name}"]["version"] for name in served_versions}
    assert set(served_versions) == {"graphiql", "react", "react-dom", "cytoscape", "dagre", "cytoscape-svg"}


def test_the_assets_live_inside_the_package_directory() -> None:
    assert web.ASSETS.is_relative_to(Path(web.__file__).resolve().parent)
    assert {p.relative_to(web.ASSETS).as_posix() for p in web.ASSETS.rglob("*") if p.is_file()} >= SHIPPED


def test_the_wheel_carries_the_built_interface(tmp_path: Path) -> None:
    # A copy of the sources (the build writes build/ and *.egg-info next to them).
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "node_modules", ".venv", "__pycache__", "tests",
                                                                "*.sqlite*", ".mypy_cache", ".ruff_cache", "build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, timeout=240)
    [wheel] = (tmp_path / "dist").glob("cmdb_graph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"graph_api/static/ui/{name}" for name in SHIPPED} <= names


def test_without_the_build_the_pages_say_how_to_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(web, "ASSETS", tmp_path / "ui")
    monkeypatch.setattr(web, "GRAPHIQL_PAGE", tmp_path / "ui" / "graphiql" / "index.html")
    [index] = [r for r in web.ui_routes() if isinstance(r, Route) and r.path == "/ui"]
    response = asyncio.run(index.endpoint(None))
    assert response.status_code == 503
    assert b"scripts/system-deps.sh" in response.body
    assert web.graphiql_page().status_code == 503


def test_the_browser_refuses_anything_from_another_origin(page: Page, served: Served) -> None:
    """The policy is enforced, not only sent: a script, a fetch and an image from another origin
    (127.0.0.2, loopback, so nothing could leave the machine even if it were not) are refused."""
    failed: dict[str, str] = {}
    page.on("requestfailed", lambda request: failed.__setitem__(request.url, request.failure or ""))
    page.goto(f"{served.url}/ui")
    page.get_by_test_id("token").wait_for()
    violations = page.evaluate("""async () => {
      const seen = [];
      document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
      const s = document.createElement('script'); s.src = 'http://127.0.0.2:9/x.js'; document.body.append(s);
      const i = document.createElement('img'); i.src = 'http://127.0.0.2:9/x.png'; document.body.append(i);
      await fetch('http://127.0.0.2:9/graphql').catch(() => null);
      for (let n = 0; n < 50 && seen.length < 3; n++) await new Promise((r) => setTimeout(r, 20));
      return seen.sort();
    }""")
    assert violations == ["connect-src", "img-src", "script-src-elem"]
    # The browser reports the script and image as requests, each failed by the policy before it was sent.
    elsewhere = {url for url in served.requests if "127.0.0.2" in url}
    assert elsewhere and all(failed.get(url) == "csp" for url in elsewhere), (elsewhere, failed)
    assert hosts([url for url in served.requests if url not in elsewhere]) == {"127.0.0.1"}
