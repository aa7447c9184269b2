"""govmomi's vCenter simulator (vcsim) as a child process: for tests, the bench and the demo.

Not used by the scanner. ``scripts/system-deps.sh`` builds the binary into
``tools/vcsim/bin``; ``CMDB_VCSIM`` or the PATH may name another. The simulator
listens on 127.0.0.1 on a port the kernel picks (``-l 127.0.0.1:0``) and prints
its URL once it serves; it is stopped by its PID.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_URL = re.compile(r"GOVC_URL=https://[^@]*@(127\.0\.0\.1:\d+)/sdk")
_REPO = Path(__file__).resolve().parents[1]


class VcsimUnavailable(RuntimeError):
    """The vcsim binary is not built here (run scripts/system-deps.sh)."""


def vcsim_binary() -> str:
    """The simulator to run: ``CMDB_VCSIM``, the repository's build, else the PATH."""
    candidates = [os.environ.get("CMDB_VCSIM"), str(_REPO / "tools" / "vcsim" / "bin" / "vcsim"), shutil.which("vcsim")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise VcsimUnavailable("vcsim is not built: run scripts/system-deps.sh (it installs govmomi's vcsim with Go)")


@dataclass(frozen=True, slots=True)
class Inventory:
    """vcsim's inventory-size flags (its defaults: 1 datacenter, 1 cluster of 3 hosts, 1 standalone host...)."""

    datacenters: int = 1
    clusters: int = 1
    hosts: int = 3  # per cluster
    standalone_hosts: int = 1
    vms: int = 2  # per resource pool
    pools: int = 0  # extra resource pools per compute resource
    datastores: int = 1
    portgroups: int = 1
    extra: tuple[str, ...] = field(default_factory=tuple)

    def flags(self) -> list[str]:
        return ["-dc", str(self.datacenters), "-cluster", str(self.clusters), "-host", str(self.hosts),
                "-standalone-host", str(self.standalone_hosts), "-vm", str(self.vms), "-pool", str(self.pools),
                "-ds", str(self.datastores), "-pg", str(self.portgroups), *self.extra]


@dataclass(frozen=True, slots=True)
class Vcsim:
    """A running simulator: where it listens and its credentials."""

    server: str  # 127.0.0.1:PORT
    user: str
    password: str = field(repr=False)
    pid: int


def start_vcsim(inventory: Inventory | None = None, user: str = "cmdb", password: str = "vcsim-pass",
                start_timeout: float = 120.0, workdir: Path | None = None) -> tuple[subprocess.Popen[bytes], Vcsim]:
    """Start vcsim on 127.0.0.1 (a port the kernel picks) and return it once it serves.

    Its output goes to ``<workdir>/vcsim.log`` (a temporary directory when None); the
    URL line it prints when it serves is waited for, bounded by ``start_timeout``. The
    caller stops it with :func:`stop_vcsim` (or records its PID, as the demo does).
    """
    inventory = inventory or Inventory()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="cmdb-vcsim-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "vcsim.log"
    cmd = [vcsim_binary(), "-l", "127.0.0.1:0", "-username", user, "-password", password, *inventory.flags()]
    with open(log, "wb") as out:
        # TMPDIR: vcsim keeps its datastores' files there; inside workdir they go with it, even after a SIGKILL.
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True,
                                env={**os.environ, "TMPDIR": str(workdir)})
    deadline = time.monotonic() + start_timeout
    while True:
        match = _URL.search(log.read_text(errors="replace"))
        if match:
            return proc, Vcsim(server=match.group(1), user=user, password=password, pid=proc.pid)
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_vcsim(proc)
            raise RuntimeError(f"vcsim did not start (exit {proc.poll()}): {log.read_text(errors='replace')[-1000:]}")
        time.sleep(0.05)  # polling its log for the URL line, bounded by the deadline above


def stop_vcsim(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID, SIGKILL if it does not exit within 20 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


@contextmanager
def running_vcsim(inventory: Inventory | None = None, user: str = "cmdb", password: str = "vcsim-pass",
                  start_timeout: float = 120.0, workdir: Path | None = None) -> Iterator[Vcsim]:
    """Start vcsim on 127.0.0.1, yield it once it serves, stop it by PID on exit."""
    with tempfile.TemporaryDirectory(prefix="cmdb-vcsim-") as tmp:
        proc, sim = start_vcsim(inventory, user, password, start_timeout, workdir or Path(tmp))
        try:
            yield sim
        finally:
            stop_vcsim(proc)
