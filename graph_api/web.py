"""The web interface (/ui) and GraphiQL, served from assets packaged with graph_api.

``ui/`` (npm, pinned by its lock file) builds into ``graph_api/static/ui/`` at setup
(``scripts/system-deps.sh``); the wheel carries that directory as package data. Every
page goes out with a Content-Security-Policy that allows nothing but this server, so a
browser refuses to fetch a script, style, font or API call from anywhere else.
The pages hold no data: the interface reads the public GraphQL API with the user's token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "ui"
GRAPHIQL_PAGE = ASSETS / "graphiql" / "index.html"

# 'unsafe-inline' styles: GraphiQL and Cytoscape set style attributes from script; images from
# data:/blob: are the PNG/SVG exports. No other origin is allowed for anything.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

NOT_BUILT = ("<!doctype html><title>cmdb-graph</title><h1>The web interface is not built</h1>"
             "<p>Run <code>bash scripts/system-deps.sh</code> (or <code>npm ci --prefix ui && npm run build "
             "--prefix ui</code>) and restart the server.</p>")


def built() -> bool:
    """Whether the npm build has put the assets in the package."""
    return (ASSETS / "index.html").is_file() and GRAPHIQL_PAGE.is_file()


def graphiql_page() -> Response:
    """The self-hosted GraphiQL page (what a browser gets from GET /graphql)."""
    if not GRAPHIQL_PAGE.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=HEADERS)
    return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"), headers=HEADERS)


class _WithHeaders:
    """Adds the security headers to every response of the wrapped ASGI app."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._raw = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self._raw]}
            await send(message)

        await self._app(scope, receive, send_with_headers)


async def _ui_index(_: Any) -> Response:
    if not built():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=HEADERS)
    return HTMLResponse((ASSETS / "index.html").read_text(encoding="utf-8"), headers=HEADERS)


def ui_routes() -> list[Route | Mount]:
    """``/ui`` (the single-page interface) and ``/ui/...`` (its assets and GraphiQL's)."""
    return [
        Route("/ui", _ui_index, methods=["GET"]),
        Route("/ui/", _ui_index, methods=["GET"]),
        Mount("/ui", app=_WithHeaders(StaticFiles(directory=ASSETS, check_dir=False)), name="ui"),
    ]
