"""The real app under uvicorn on 127.0.0.1 and Debian's Chromium, headless, driven by Playwright.

Playwright's own browser download is never used: the system Chromium (apt ``chromium``)
is launched by path with the flags that keep it from calling outside hosts. Every request
a page makes is recorded, so a test can assert that none left 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from graph_api.app import create_app
from graph_api.settings import ApiSettings
from graph_api.web import built
from schema import load_schema
from tests.api.conftest import served_in_thread
from tests.api.estate import seed

CHROMIUM = "/usr/bin/chromium"
# TESTBEDS.md: headless as root, and no background traffic to outside hosts.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the block (Playwright launches it by path, each time with a
    fresh temporary profile, and closes it)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Served:
    url: str
    tokens: dict[str, str]
    ingestor: Ingestor
    token_service: TokenService
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    assert built(), "the web interface is not built: run `bash scripts/system-deps.sh`"
    tmp = tmp_path_factory.mktemp("ui")
    catalog = load_schema()
    store = SQLiteStore(tmp / "cmdb.sqlite", catalog)
    seed(Ingestor(store, catalog))
    ingestor = Ingestor(store, catalog)  # the app adds its change-log follower to the listeners
    token_store = SQLiteTokenStore(tmp / "tokens.sqlite")
    tokens = TokenService(token_store)
    plain = {role.value: tokens.create(f"ui-{role.value}", role)[1] for role in (Role.VIEWER, Role.EDITOR)}
    plain["approver"] = tokens.create("ui-approver", Role.EDITOR)[1]  # a requester never approves their own change
    app = create_app(store, catalog, token_store, settings=ApiSettings(store_threads=0), ingestor=ingestor)
    try:
        with served_in_thread(app) as url:
            yield Served(url=url, tokens=plain, ingestor=ingestor, token_service=tokens)
    finally:
        store.close()
        token_store.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope, not session: Playwright's sync API keeps an event loop running on the main
    # thread while it is open, and every later test that calls asyncio.run() would fail.
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    """A fresh browser context (empty sessionStorage) whose every request URL is recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    served.requests.clear()
    pg.on("request", lambda request: served.requests.append(request.url))
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
        assert not errors, errors
    finally:
        context.close()


def hosts(urls: list[str]) -> set[str]:
    """The hosts of the http(s)/ws URLs requested (data: and blob: URLs never leave the page)."""
    return {urlsplit(u).hostname or "" for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
