"""Real processes for the scale-out test and bench: ``cmdb serve`` replicas and Debian's nginx in front.

nginx runs as a child of the caller, by its pid, with its own configuration, logs and
temporary files under a given directory, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

CMDB = [sys.executable, "-m", "cmdb_cli.main"]
NGINX = "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, proc: subprocess.Popen[bytes] | subprocess.Popen[str], log: Path,
                       timeout: float = 180) -> None:
    """Poll ``url``/healthz until it answers 200 (bounded); fail with the log should the process exit."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:  # one client: building one costs an SSL context each time
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{proc.args!r} did not answer in {timeout:.0f} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 60) -> None:
    """SIGTERM by pid, then SIGKILL if it has not exited within ``timeout``."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@contextmanager
def replicas(n: int, store_url: str, workdir: Path, env: Mapping[str, str]) -> Iterator[list[str]]:
    """``n`` ``cmdb serve`` processes on one store, each on its own free port; yields their URLs."""
    with ExitStack() as stack:
        started = []
        for i in range(n):
            port = free_port()
            log = workdir / f"replica-{i}.log"
            out = stack.enter_context(log.open("w"))
            proc = subprocess.Popen([*CMDB, "serve", "--port", str(port), "--store", store_url], env=dict(env),
                                    stdout=subprocess.DEVNULL, stderr=out)
            stack.callback(stop, proc)
            started.append((f"http://127.0.0.1:{port}", proc, log))
        for url, proc, log in started:
            wait_until_healthy(url, proc, log)
        yield [url for url, _, _ in started]


def nginx_config(directory: Path, port: int, upstreams: Sequence[str]) -> str:
    servers = "".join(f"    server {u.removeprefix('http://')};\n" for u in upstreams)
    temp = "".join(f"  {kind}_temp_path {directory / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers would otherwise be nobody, outside our temp dir
    return (f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n" + temp +
            "  upstream cmdb {\n    least_conn;\n" + servers + "    keepalive 64;\n  }\n"
            f"  server {{\n    listen 127.0.0.1:{port};\n    client_max_body_size 60m;\n"
            "    location / {\n      proxy_pass http://cmdb;\n      proxy_http_version 1.1;\n"
            "      proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n"
            "      proxy_read_timeout 120s;\n    }\n  }\n}\n")


@contextmanager
def nginx_in_front(upstreams: Sequence[str], directory: Path) -> Iterator[str]:
    """Debian's nginx balancing over ``upstreams`` (least connections), on a free 127.0.0.1 port; yields its URL."""
    assert shutil.which(NGINX) or os.path.exists(NGINX), "nginx is not installed: run scripts/system-deps.sh"
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(nginx_config(directory, port, upstreams))
    log = directory / "error.log"
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(directory), "-e", str(log), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        log.touch()
        wait_until_healthy(url, proc, log, timeout=60)
        yield url
    finally:
        stop(proc)  # SIGTERM: nginx's fast shutdown, its workers with it
