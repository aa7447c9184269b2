"""Workloads for lab hosts: a real PostgreSQL, small TCP apps and clients, the standard app lab.

See :mod:`labs.ssh.hosts` for the hosts themselves.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from labs.ssh.hosts import Lab, LabHost, _sh

# -- workloads: real servers and long-lived clients inside lab hosts --------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")

# A tiny TCP program: optionally listens on a port and accepts forever, and holds one
# connection per target (``host:port`` or ``host:port:pg`` to send a PostgreSQL startup
# message with trust auth, so the server keeps the session open). On SIGTERM it closes
# its client sockets with an RST (SO_LINGER 0) so no TIME-WAIT is left behind.
LABAPP = r'''
import signal, socket, struct, sys, time
listen_port = int(sys.argv[1])
conns = []
def stop(*_):
    for s in conns:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError:
            pass
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
for spec in sys.argv[2:]:
    host, port, *kind = spec.split(":")
    for _ in range(100):
        try:
            s = socket.create_connection((host, int(port)), timeout=5)
            break
        except OSError:
            time.sleep(0.1)
    if kind == ["pg"]:
        params = b"user\0postgres\0database\0postgres\0\0"
        s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        s.recv(4096)
    conns.append(s)
print("ready", flush=True)
if listen_port:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", listen_port))
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        conns.append(c)
else:
    while True:
        time.sleep(3600)
'''


def start_postgres(host: LabHost, port: int = 5432) -> subprocess.Popen[bytes]:
    """Initialise and start a real PostgreSQL (Debian's) in ``host``, listening on all its addresses."""
    # The postgres user must reach the data directory: keep it out of private temp trees.
    base = Path(tempfile.mkdtemp(prefix=f"cmdb-lab-pg-{host.name}-"))
    os.chmod(base, 0o755)
    host.cleanup.append(base)
    data = base / "data"
    data.mkdir(mode=0o700)
    shutil.chown(data, "postgres", "postgres")
    _sh("runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
        "--no-sync", "-E", "UTF8")
    with (data / "pg_hba.conf").open("a") as fh:
        fh.write("host all all 0.0.0.0/0 trust\n")
    proc = host.spawn([
        "runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port),
        "-c", "listen_addresses=*", "-c", f"unix_socket_directories={data}", "-c", "shared_buffers=16MB",
        "-c", "max_connections=40", "-c", "fsync=off", "-c", "logging_collector=off",
    ])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if host.run([str(PG_BIN / "pg_isready"), "-q", "-h", host.address, "-p", str(port)]).returncode == 0:
            return proc
        if proc.poll() is not None:
            raise RuntimeError("postgres exited at start")
        time.sleep(0.1)
    raise RuntimeError("postgres did not become ready")


def start_app(host: LabHost, listen_port: int = 0, connect: tuple[str, ...] = (), python: str = "/usr/bin/python3") -> subprocess.Popen[bytes]:
    """Start a Python TCP program in ``host`` (see LABAPP); returns once its connections are open."""
    script = host.dir / "labapp.py"
    script.write_text(LABAPP)
    proc = host.spawn([python, str(script), str(listen_port), *connect], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError(f"lab app in {host.name} did not start")
    if listen_port:
        _wait_listening(host, listen_port)
    return proc


def _wait_listening(host: LabHost, port: int) -> None:
    for _ in range(100):
        if f":{port} " in host.run(["ss", "-tlnH"]).stdout:
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host.name}:{port}")


def stop_process(host: LabHost, proc: subprocess.Popen[bytes]) -> None:
    """Stop one workload started with :meth:`LabHost.spawn` (by its PID) and wait for it."""
    # nsenter forwards nothing: signal its child (the workload) through the host.
    kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    for pid in kids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), 15)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class AppLab:
    """The standard application lab: db1 (PostgreSQL), app1 (app, psql, exporter), mon1 (client)."""

    lab: Lab
    db: LabHost
    app: LabHost
    mon: LabHost


def build_app_lab(lab: Lab, extra_hosts: tuple[str, ...] = ()) -> AppLab:
    """Declare db1/app1/mon1 (and ``extra_hosts``, bare), start them and their workloads.

    - ``db1``: a real PostgreSQL 15 (Debian's) on 5432;
    - ``app1``: a Python app listening on 8080 that holds a PostgreSQL session, a Python
      "exporter" on 9100 (monitoring noise), and a ``psql`` session that stays open;
    - ``mon1``: a Python client holding connections to app1:8080 and app1:9100.

    Call it inside ``with Lab(...)`` so that everything stops even when a step fails.
    """
    db, app, mon = lab.add_host("db1"), lab.add_host("app1"), lab.add_host("mon1")
    for name in extra_hosts:
        lab.add_host(name)
    lab.start()
    start_postgres(db)
    start_app(app, 8080, (f"{db.address}:5432:pg",))
    start_app(app, 9100)
    app.spawn([str(PG_BIN / "psql"), "-h", db.address, "-U", "postgres", "-c", "select pg_sleep(600)"])
    start_app(mon, 0, (f"{app.address}:8080", f"{app.address}:9100"))
    _wait_sessions(db, 2)
    return AppLab(lab, db, app, mon)


def _wait_sessions(db: LabHost, count: int) -> None:
    """Wait until ``count`` client sessions are open on db1's PostgreSQL."""
    for _ in range(200):
        out = db.run(["ss", "-tanH", "state", "established", "( sport = :5432 )"]).stdout
        if len([line for line in out.splitlines() if line.strip()]) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError("PostgreSQL sessions did not open")
