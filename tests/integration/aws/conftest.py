"""A real moto server process for the AWS integration tests, started once per session."""

from __future__ import annotations

import http.client
import http.server
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from labs.demo.aws_company import start_moto
from labs.demo.processes import terminate

TEST_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a moto server child process, stopped by its PID at the end."""
    proc, endpoint = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        yield endpoint
    finally:
        terminate(proc)


@pytest.fixture(scope="module", autouse=True)
def _test_keys() -> Iterator[None]:
    # Dummy keys only: boto3 must never find real credentials in these tests (restored after each module).
    with pytest.MonkeyPatch.context() as patch:
        for key, value in TEST_KEYS.items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("AWS_CONFIG_FILE", "/dev/null")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        yield


class FlakyProxy:
    """An HTTP proxy in front of moto that makes one region's endpoint fail mid-scan.

    Requests are routed by the region in their SigV4 credential scope; once the
    failing region has had ``after`` requests, every further one gets a 503.
    """

    _REGION = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/")

    def __init__(self, upstream: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.failing: str | None = None
        self.after = 0
        self.throttled: str | None = None
        self.throttles = 0  # how many more requests of ``throttled`` get a throttling error
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match = proxy._REGION.search(self.headers.get("Authorization", ""))
                region = match.group(1) if match else ""
                with proxy.lock:
                    proxy.seen[region] = proxy.seen.get(region, 0) + 1
                    fail = region == proxy.failing and proxy.seen[region] > proxy.after
                    throttle = region == proxy.throttled and proxy.throttles > 0
                    if throttle:
                        proxy.throttles -= 1
                if throttle:  # EC2's query-protocol throttling answer
                    payload = (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                               b"<Message>Request limit exceeded.</Message></Error></Errors></Response>")
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if fail:
                    payload = b"Service Unavailable"
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                assert proxy.upstream.hostname is not None
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                finally:
                    conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="flaky-proxy", daemon=True)
        self.thread.start()

    def fail_region(self, region: str, after: int) -> None:
        with self.lock:
            self.failing, self.after, self.seen = region, after, {}

    def throttle_region(self, region: str, requests: int) -> None:
        with self.lock:
            self.throttled, self.throttles = region, requests

    def heal(self) -> None:
        with self.lock:
            self.failing = None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def flaky_proxy(moto_endpoint: str) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(moto_endpoint)
    try:
        yield proxy
    finally:
        proxy.close()
