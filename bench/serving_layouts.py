"""Impact latency of several ways to serve on N cores, in alternating rounds, on the 100k SQLite estate.

    .venv/bin/python bench/serving_layouts.py --old-tree /work/wt/old-supervisor \\
        --layouts old stock nginx --rounds 3 --clients 1 10 50 --duration 15

Each round starts every layout in turn (old, stock, nginx, old, stock, nginx, ...), so a
drift of the machine's load (other processes) falls on all of them alike, and drives
impact queries (``maxDepth: 6``, random infrastructure roots) with the keep-alive load
generator of ``bench/api.py`` (one connection per client, opened when the client starts,
kept for the whole step), result cache off by default (every answer computed). Layouts:

- ``old``: ``cmdb serve --workers N`` of the code in ``--old-tree`` (the socket-passing
  supervisor of before issue 22), run with ``PYTHONPATH`` pointing there;
- ``stock``: ``cmdb serve --workers N`` of this tree (uvicorn's own supervisor: one shared
  listening socket that every worker accepts from);
- ``nginx``: N single-worker ``cmdb serve`` replicas of this tree behind Debian's nginx
  (least_conn, keep-alive upstreams: the production layout of docs/deployment.md).

While each step runs, the established connections to each server process are counted
(from /proc: which process holds which accepted socket), halfway through the step: that
is how the clients' connections (or nginx's upstream connections) spread over the
workers. The machine's load average is printed per step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from api import IMPACT, Outcome, load, pct, sample_uids  # noqa: E402

from cmdb.store.tokens_sqlite import SQLiteTokenStore  # noqa: E402
from cmdb.tokens import Role, TokenService  # noqa: E402
from tests.api.scaleout import CMDB, free_port, nginx_in_front, replicas, stop  # noqa: E402

LAYOUTS = ("old", "stock", "nginx")


def established(port: int) -> dict[int, int]:
    """Socket inode -> 1 for every established TCP connection whose local port is ``port`` (IPv4)."""
    out: dict[int, int] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], int(fields[9])
        if state == "01" and int(local.rsplit(":", 1)[1], 16) == port and inode:
            out[inode] = 1
    return out


def connections_per_process(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections on local ``port`` each of ``pids`` holds open."""
    inodes = established(port)
    counts: dict[int, int] = {}
    for pid in pids:
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and int(target[8:-1]) in inodes:
                        held += 1
        counts[pid] = held
    return counts


def process_tree(pid: int) -> list[int]:
    """``pid`` and its direct children (a supervisor and its workers)."""
    with contextlib.suppress(OSError):
        return [pid, *(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    return [pid]


class Served:
    """A running layout: the URL the clients use, and (port, pids) pairs whose connections to count."""

    def __init__(self, url: str, counted: list[tuple[int, list[int]]]) -> None:
        self.url = url
        self.counted = counted

    def spread(self) -> list[int]:
        """Connections held per serving process (processes holding none left out: a supervisor)."""
        out: list[int] = []
        for port, pids in self.counted:
            out += [n for n in connections_per_process(pids, port).values() if n]
        return sorted(out, reverse=True)


def _wait_for_workers(url: str, proc: subprocess.Popen[bytes], workers: int, log: Path) -> None:
    """Until /healthz answers and reports ``workers`` live workers (bounded)."""
    deadline = time.monotonic() + 600
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError, ValueError):
            body = httpx.get(f"{url}/healthz", timeout=2).json()
            alive = [w for w in body.get("workers") or [] if w.get("alive")]
            if len(alive) == workers or (workers == 1 and body.get("status") == "ok"):
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{proc.args!r} did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def serve(layout: str, workers: int, db: Path, work: Path, old_tree: Path | None, cache_size: int) -> Iterator[Served]:
    env = {**os.environ, "CMDB_DATA_DIR": str(work), "CMDB_JOBS_FILE": str(work / "no-jobs.yaml"),
           "PYTHONPATH": str(old_tree if layout == "old" else ROOT), "CMDB_API_RESULT_CACHE_SIZE": str(cache_size)}
    for name in ("CMDB_STORE_URL", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    store_url = f"sqlite:///{db}"
    if layout == "nginx":
        with replicas(workers, store_url, work, env) as urls, nginx_in_front(urls, work / "nginx") as front:
            counted = []
            for url in urls:
                port = int(url.rsplit(":", 1)[1])
                counted.append((port, _listener_pids(port)))
            yield Served(front, counted)
        return
    port = free_port()
    log = work / f"{layout}.log"
    with log.open("w") as out:
        # cwd: ``python -m`` puts the working directory first on sys.path, before PYTHONPATH
        proc = subprocess.Popen([*CMDB, "serve", "--port", str(port), "--store", store_url, "--workers", str(workers)],
                                env=env, cwd=env["PYTHONPATH"], stdout=subprocess.DEVNULL, stderr=out)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for_workers(url, proc, workers, log)
            yield Served(url, [(port, process_tree(proc.pid))])
        finally:
            stop(proc)


def _listener_pids(port: int) -> list[int]:
    """The processes holding a listening socket on ``port`` (a replica: one process)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            inodes.add(f"socket:[{fields[9]}]")
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                pids.append(int(entry.name))
    return pids


async def _measured(served: Served, token: str, variables: list[dict[str, object]], clients: int,
                    duration: float) -> tuple[Outcome, list[int]]:
    async def halfway() -> list[int]:
        await asyncio.sleep(duration / 2)
        return await asyncio.to_thread(served.spread)

    counting = asyncio.create_task(halfway())
    out = await load(served.url, token, IMPACT, variables, clients, duration)
    return out, await counting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cmdb-bench-api"),
                        help="holds estate-<cis>.sqlite (bench/api.py --seed-only makes it)")
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=["old", "stock", "nginx"])
    parser.add_argument("--old-tree", type=Path, help="a checkout of the code before issue 22 (for --layouts old)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers, or replicas behind nginx")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--roots", type=int, default=2000)
    parser.add_argument("--cache-size", type=int, default=0,
                        help="CMDB_API_RESULT_CACHE_SIZE of every server (default 0: every answer computed)")
    parser.add_argument("--json", type=Path, help="also write every step's figures here")
    args = parser.parse_args()
    if "old" in args.layouts and args.old_tree is None:
        parser.error("--layouts old needs --old-tree")
    db = args.dir / f"estate-{args.cis}.sqlite"
    if not db.exists():
        raise SystemExit(f"no estate {db}: run bench/api.py --cis {args.cis} --dir {args.dir} --seed-only")
    _, roots = sample_uids(db, args.roots, random.Random(7))
    variables: list[dict[str, object]] = [{"u": [u]} for u in roots]
    print(f"{platform.machine()}, {os.cpu_count()} cores; {args.workers} workers; estate {db}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cmdb-layouts-") as tmp:
        work = Path(tmp)
        _, token = TokenService(SQLiteTokenStore(work / "tokens.sqlite")).create("bench", Role.VIEWER)
        for round_no in range(1, args.rounds + 1):
            for layout in args.layouts:
                with serve(layout, args.workers, db, work, args.old_tree, args.cache_size) as served:
                    asyncio.run(load(served.url, token, IMPACT, variables, 2, 2.0))  # warm up
                    for clients in args.clients:
                        out, spread = asyncio.run(_measured(served, token, variables, clients, args.duration))
                        lat = out.latencies
                        row = {"round": round_no, "layout": layout, "clients": clients,
                               "req_per_s": round(out.ok / out.seconds, 1), "p50_ms": round(pct(lat, 50), 1),
                               "p95_ms": round(pct(lat, 95), 1), "p99_ms": round(pct(lat, 99), 1),
                               "errors": out.errors, "connections": spread, "load": round(os.getloadavg()[0], 1)}
                        rows.append(row)
                        print(f"round {round_no}  {layout:20s} clients={clients:3d}  {row['req_per_s']:7.1f} req/s  "
                              f"p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  "
                              f"errors {out.errors}  connections per process {spread}  load {row['load']}",
                              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
