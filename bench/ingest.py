"""Ingest throughput on the synthetic estate: first load, then a no-change re-ingest.

    python bench/ingest.py                 # 100k CIs / ~400k relationships into a fresh SQLite file
    python bench/ingest.py --cis 20000     # a quicker look
    python bench/ingest.py --store neo4j   # into the local Neo4j (tools/neo4j); or --store neo4j://host:7687

Prints observations/s and relationships/s for each pass, by wall clock and by
this process's CPU time (the figure that holds on a machine shared with other
work), the final counts against the ground truth, and the peak memory (max RSS).

What is timed is the ingest: each scope's observations are generated into a list
first (that generation, the synthetic scanner's work, is timed apart and printed
as "generation"), then the run (ingest, and aging at its end) runs on
the clock.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import estate_streams

from cmdb.ingest import Ingestor, IngestReport
from cmdb.observation import Observation
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.factory import open_store, redact
from cmdb.store.protocol import GraphStore
from cmdb.store.sqlite import SQLiteStore
from labs.synthetic import SyntheticEstate
from schema import load_schema


def server_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by the local server process, 0 if none."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_pass(ingestor: Ingestor, cis: int) -> tuple[tuple[float, float, float], int, int, IngestReport, SyntheticEstate]:
    """(wall s, CPU s, generation CPU s), observation and relation counts, report, estate."""
    estate, streams = estate_streams(cis)
    total = IngestReport()
    observations = relations = 0
    wall = cpu = generation = 0.0
    for source, scope, stream in streams:
        started = time.process_time()
        items = list(stream)
        generation += time.process_time() - started
        observations += sum(1 for item in items if isinstance(item, Observation))
        relations += sum(1 for item in items if not isinstance(item, Observation))
        started, cpu_started = time.perf_counter(), time.process_time()
        with ingestor.run(source, scope) as run:
            total.add(run.ingest(items))
        wall += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        del items
    return (wall, cpu, generation), observations, relations, total, estate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temporary one)")
    parser.add_argument("--store", default=None,
                        help="a store URL (neo4j://..., bolt://..., falkordb://...), or 'neo4j' for the local Neo4j "
                             "of tools/neo4j started in a temporary directory (default: SQLite, see --db)")
    parser.add_argument("--neo4j-heap-mb", type=int, default=2048)
    parser.add_argument("--neo4j-pagecache-mb", type=int, default=1024)
    args = parser.parse_args()
    schema = load_schema()
    server = None
    store: GraphStore
    if args.store:
        url = args.store
        if url == "neo4j":
            server = Neo4jServer(Path(tempfile.mkdtemp()) / "neo4j", heap_mb=args.neo4j_heap_mb,
                                 pagecache_mb=args.neo4j_pagecache_mb).start()
            url = server.url
        store = open_store(url, schema)
        init_schema = getattr(store, "init_schema", None)
        if callable(init_schema):
            init_schema()
        where = redact(url)
    else:
        path = args.db or Path(tempfile.mkdtemp()) / "bench.sqlite"
        store = SQLiteStore(path, schema)
        where = str(path)
    ingestor = Ingestor(store, schema)
    print(f"estate: ~{args.cis} CIs requested; store {where}; {os.cpu_count()} CPUs; "
          f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC", flush=True)
    for label in ("first load", "no-change re-ingest"):
        load_before = os.getloadavg()[0]
        server_before = server_cpu(server.pid if server is not None else None)
        (seconds, cpu, generation), obs, rels, report, estate = one_pass(ingestor, args.cis)
        server_seconds = server_cpu(server.pid if server is not None else None) - server_before
        served = f"; local Neo4j CPU {server_seconds:.1f} s" if server is not None else ""
        print(f"{label:>20}: wall {seconds:6.1f} s ({obs / seconds:7.0f} obs/s, {rels / seconds:7.0f} rels/s)"
              f"  CPU {cpu:6.1f} s ({obs / cpu:7.0f} obs/s, {rels / cpu:7.0f} rels/s)"
              f"  [{obs} observations, {rels} relationships; created {report.created}, updated {report.updated},"
              f" rejected {len(report.rejected)}; generation {generation:.1f} s CPU, not timed;"
              f" load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}{served}]", flush=True)
    counts = store.counts()
    print(f"ground truth: {len(estate.truth.cis)} CIs, {len(estate.truth.relationships)} relationships")
    print(f"store: {counts.cis} CIs, {counts.relationships} relationships, {counts.history} history entries")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    store.close()
    if server is not None:
        print(f"local Neo4j: up in {server.started_in:.1f} s, {server.rss_bytes() / 2**20:.0f} MiB resident at the end")
        server.stop()


if __name__ == "__main__":
    main()
