"""HTTP load against ``cmdb serve`` on the 100k estate: req/s and p50/p95/p99 latency.

    .venv/bin/python bench/api.py                       # seed (once) 100k CIs, serve, measure 1/10/50 clients
    .venv/bin/python bench/api.py --seed-only           # just build the store
    .venv/bin/python bench/api.py --duration 20 --concurrency 1 10 50

The estate comes from ``bench/estate.py`` (synthetic observations, ~4 relationships
per CI), ingested through the Ingestor into an SQLite file kept under ``--dir`` so
later runs reuse it. The server is the real ``cmdb serve`` in its own process; the
load generator is asyncio with a minimal HTTP/1.1 client, one keep-alive connection per client
(``--workers``: the server's worker processes, one per core by default). Two
scenarios: a CI lookup with its neighbours (and their names and classes), and an
impact query (``maxDepth: 6``) from a random infrastructure CI.

``--store neo4j`` serves the same estate from the local Neo4j of ``tools/neo4j``
(data kept under ``--dir``): the SQLite estate is exported and imported into it
once (``cmdb export`` / ``cmdb import``'s code), so both stores hold the same CIs.
Every worker follows the store's change log, on either store; compare the two stores
at the same ``--workers``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:
    from cmdb.store.cypher.neo4j_server import Neo4jServer

LOOKUP = """query($u: ID!) { ci(uid: $u) { uid name ciClass lifecycle attributes
  neighbours(first: 50) { direction relationship { type evidence { method confidence } } ci { uid name ciClass } } } }"""
IMPACT = """query($u: [ID!]!) { impact(uids: $u, maxDepth: 6) { truncated
  impacted { uid grade depth } services { uid name grade owner } owners } }"""
HEALTHZ = "GET /healthz"
IMPACT_ROOT_CLASSES = ("physical_server", "virtual_machine", "host", "switch", "database", "cluster", "software_instance")


def seed(db: Path, cis: int) -> None:
    """Ingest the synthetic estate through the Ingestor (one scan run per scope)."""
    from estate import estate_streams

    from cmdb.ingest import Ingestor
    from cmdb.store.sqlite import SQLiteStore
    from schema import load_schema

    catalog = load_schema()
    tmp = db.with_suffix(".partial")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    store = SQLiteStore(tmp, catalog)
    ingestor = Ingestor(store, catalog)
    started = time.perf_counter()
    items = 0
    _, streams = estate_streams(cis)
    for source, scope, stream in streams:
        with ingestor.run(source, scope) as run:
            report = run.ingest(stream)
        items += sum(report.as_counts().values())
        print(f"  {source}/{scope}: {report.as_counts()}  ({time.perf_counter() - started:.0f} s)", flush=True)
    counts = store.counts()
    store.close()
    tmp.rename(db)
    print(f"seeded {counts.cis} CIs, {counts.relationships} relationships in {time.perf_counter() - started:.0f} s")


def sample_uids(db: Path, n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Random CI uids for lookups, and random infrastructure CIs for impact roots."""
    from cmdb.store.sqlite import SQLiteStore

    store = SQLiteStore(db)
    everything: list[str] = []
    roots: list[str] = []
    for batch in store.iter_nodes():
        for row in batch:
            everything.append(row.uid)
            if row.ci_class in IMPACT_ROOT_CLASSES:
                roots.append(row.uid)
    store.close()
    return rng.sample(everything, min(n, len(everything))), rng.sample(roots, min(n, len(roots)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def neo4j_estate(db: Path, workdir: Path, heap_mb: int, pagecache_mb: int) -> Neo4jServer:
    """The local Neo4j holding the estate of ``db``, started; imported from ``db`` on first use."""
    import shutil
    import tempfile

    from cmdb.store.cypher.neo4j_server import Neo4jServer
    from cmdb.store.factory import open_store
    from cmdb.store.sqlite import SQLiteStore
    from cmdb.store.transfer import export_store, import_store
    from schema import load_schema

    data = workdir / f"{db.stem}.neo4j"
    done = data / "imported"
    if not done.exists():
        shutil.rmtree(data, ignore_errors=True)
    server = Neo4jServer(data, heap_mb=heap_mb, pagecache_mb=pagecache_mb).start()
    if done.exists():
        return server
    started = time.perf_counter()
    catalog = load_schema()
    with tempfile.TemporaryFile(dir=workdir) as dump:
        source = SQLiteStore(db, catalog)
        export_store(source, dump)
        source.close()
        dump.seek(0)
        store = open_store(server.url, catalog)
        store.init_schema()  # type: ignore[attr-defined]
        counts = import_store(store, catalog, dump, batch_size=5000)
        store.close()
    done.write_text(json.dumps(counts.as_dict()))
    print(f"imported {counts.as_dict()} into Neo4j in {time.perf_counter() - started:.0f} s", flush=True)
    return server


def start_server(workdir: Path, db: Path, port: int, cache_size: int | None, workers: int,
                 store_url: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CMDB_DATA_DIR": str(workdir), "CMDB_STORE_URL": store_url or f"sqlite:///{db}",
           "CMDB_JOBS_FILE": str(workdir / "no-jobs.yaml")}
    if cache_size is not None:
        env["CMDB_API_RESULT_CACHE_SIZE"] = str(cache_size)
    command = [sys.executable, "-m", "cmdb_cli.main", "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"cmdb serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            # Every worker up: each answer names its worker, each new connection may go to either.
            seen = {httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["worker"] for _ in range(8 * workers)}
            if len(seen) == workers:
                return proc
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("cmdb serve did not come up")
        time.sleep(0.5)


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    httpx's async client costs more CPU per request than the server on this box and
    its throughput fell with concurrency even against ``/healthz``; a raw client keeps
    the generator's own overhead out of the figures.
    """

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes, str]:
        """(status, body, X-Cmdb-Cache header: "hit", "miss" or "" when the answer was not cacheable)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n").encode() + self.auth + b"\r\n"
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        cache = ""
        close = False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "x-cmdb-cache":
                cache = value.strip()
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True  # e.g. nginx after keepalive_requests (1,000) on one connection
        body = await self.reader.readexactly(length)
        if close:  # the next request opens a new connection, as an HTTP client does
            await self.close()
            self.reader = self.writer = None
        return status, body, cache

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Outcome(NamedTuple):
    ok: int
    seconds: float
    latencies: list[float]
    errors: int
    cache: Counter[str]  # X-Cmdb-Cache values of the successful answers ("hit", "miss", "")


async def load(url: str, token: str, query: str, variables: list[dict[str, object]], clients: int,
               duration: float) -> Outcome:
    """``clients`` concurrent clients sending ``query`` for ``duration`` seconds."""
    latencies: list[float] = []
    cache: Counter[str] = Counter()
    errors = 0
    stop_at = time.perf_counter() + duration
    host, port = url.removeprefix("http://").split(":")

    async def client(k: int) -> None:
        nonlocal errors
        rng = random.Random(k)
        http = RawClient(host, int(port), token)
        try:
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                if query == HEALTHZ:
                    status, body, hit = await http.request("GET", "/healthz")
                else:
                    payload = json.dumps({"query": query, "variables": rng.choice(variables)}).encode()
                    status, body, hit = await http.request("POST", "/graphql", payload)
                elapsed = time.perf_counter() - start
                if status == 200 and b'"errors"' not in body:
                    latencies.append(elapsed)
                    cache[hit] += 1
                else:
                    errors += 1
        finally:
            await http.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return Outcome(len(latencies), time.perf_counter() - started, latencies, errors, cache)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its direct children, from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its direct children, MiB."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/cmdb-bench-api"))
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--scenarios", nargs="+", choices=["healthz", "lookup", "impact"],
                        default=["healthz", "lookup", "impact"])
    parser.add_argument("--cache-size", type=int, default=None,
                        help="CMDB_API_RESULT_CACHE_SIZE for the server (0: result cache off; default: the server's)")
    parser.add_argument("--roots", type=int, default=2000,
                        help="distinct impact roots (and lookup CIs) the clients pick from at random")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="cmdb serve --workers (default: one per core)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--store", choices=["sqlite", "neo4j"], default="sqlite",
                        help="serve from SQLite (default) or from the local Neo4j holding the same estate")
    parser.add_argument("--neo4j-heap-mb", type=int, default=1024)
    parser.add_argument("--neo4j-pagecache-mb", type=int, default=512)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / f"estate-{args.cis}.sqlite"
    if not db.exists():
        print(f"seeding {args.cis} CIs into {db} ...", flush=True)
        seed(db, args.cis)
    if args.seed_only:
        return
    rng = random.Random(7)
    lookups, roots = sample_uids(db, args.roots, rng)

    from cmdb.store.tokens_sqlite import SQLiteTokenStore
    from cmdb.tokens import Role, TokenService

    _, token = TokenService(SQLiteTokenStore(args.dir / "tokens.sqlite")).create("bench", Role.VIEWER)
    neo4j = None
    store_url = None
    if args.store == "neo4j":
        neo4j = neo4j_estate(db, args.dir, args.neo4j_heap_mb, args.neo4j_pagecache_mb)
        store_url = neo4j.url
        print(f"local Neo4j at {store_url}, heap {args.neo4j_heap_mb} MiB, page cache {args.neo4j_pagecache_mb} MiB",
              flush=True)
    port = free_port()
    started = time.perf_counter()
    try:
        proc = start_server(args.dir, db, port, args.cache_size, args.workers, store_url)
    except BaseException:
        if neo4j is not None:
            neo4j.stop()
        raise
    print(f"cmdb serve ({args.store}) --workers {args.workers} up in {time.perf_counter() - started:.1f} s "
          f"(pid {proc.pid}, RSS {rss_mib(proc.pid):.0f} MiB with its workers); "
          f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)
    url = f"http://127.0.0.1:{port}"
    scenarios: dict[str, tuple[str, list[dict[str, object]]]] = {
        "healthz (HTTP baseline)": (HEALTHZ, [{}]),
        "ci lookup + neighbours": (LOOKUP, [{"u": u} for u in lookups]),
        "impact (maxDepth 6)": (IMPACT, [{"u": [u]} for u in roots]),
    }
    wanted = {"healthz": "healthz (HTTP baseline)", "lookup": "ci lookup + neighbours", "impact": "impact (maxDepth 6)"}
    scenarios = {wanted[k]: scenarios[wanted[k]] for k in args.scenarios}
    results = []
    try:
        for name, (query, variables) in scenarios.items():
            asyncio.run(load(url, token, query, variables, 2, 2.0))  # warm up
            for clients in args.concurrency:
                cpu_before = cpu_seconds(proc.pid)
                client_before = time.process_time()
                out = asyncio.run(load(url, token, query, variables, clients, args.duration))
                client_cpu = time.process_time() - client_before
                cpu = cpu_seconds(proc.pid) - cpu_before
                lat = out.latencies
                cacheable = out.cache["hit"] + out.cache["miss"]
                row = {"store": args.store, "workers": args.workers, "scenario": name, "clients": clients, "requests": out.ok, "errors": out.errors,
                       "req_per_s": round(out.ok / out.seconds, 1), "p50_ms": round(pct(lat, 50), 1),
                       "p95_ms": round(pct(lat, 95), 1), "p99_ms": round(pct(lat, 99), 1),
                       "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else None,
                       "server_cpu_ms_per_req": round(cpu * 1000 / max(1, out.ok + out.errors), 2),
                       "server_cores": round(cpu / out.seconds, 2),
                       "client_cpu_ms_per_req": round(client_cpu * 1000 / max(1, out.ok + out.errors), 2),
                       "cache_hit_ratio": round(out.cache["hit"] / cacheable, 3) if cacheable else None,
                       "load": round(os.getloadavg()[0], 1)}
                results.append(row)
                hits = f"  cache hits {row['cache_hit_ratio']:.1%}" if cacheable else ""
                print(f"{name:25s} clients={clients:3d}  {row['req_per_s']:8.1f} req/s  p50 {row['p50_ms']:7.1f} ms  "
                      f"p95 {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  errors {out.errors}  "
                      f"server CPU {row['server_cpu_ms_per_req']:.2f} ms/req ({row['server_cores']:.2f} cores)  "
                      f"client CPU {row['client_cpu_ms_per_req']:.2f} ms/req{hits}  load {row['load']}", flush=True)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if neo4j is not None:
            neo4j.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
