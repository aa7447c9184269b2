"""Ingest throughput on the synthetic estate: first load, then a no-change re-ingest.

    python bench/ingest.py                 # 100k CIs / ~400k relationships into a fresh SQLite file
    python bench/ingest.py --cis 20000     # a quicker look

Prints observations/s and relationships/s for each pass, by wall clock and by
this process's CPU time (the figure that holds on a machine shared with other
work), the final counts against the ground truth, and the peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import estate_streams

from cmdb.ingest import Ingestor, IngestReport
from cmdb.observation import Observation
from cmdb.store.sqlite import SQLiteStore
from discovery.synthetic import SyntheticEstate
from schema import load_schema


def one_pass(ingestor: Ingestor, cis: int) -> tuple[tuple[float, float], int, int, IngestReport, SyntheticEstate]:
    estate, streams = estate_streams(cis)
    total = IngestReport()
    observations = relations = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for source, scope, items in streams:
        def counted(stream=items):  # type: ignore[no-untyped-def]
            nonlocal observations, relations
            for item in stream:
                if isinstance(item, Observation):
                    observations += 1
                else:
                    relations += 1
                yield item

        run = ingestor.start_run(source, scope)
        total.add(ingestor.ingest(run, counted()))
        ingestor.finish_run(run, complete=True)
    return (time.perf_counter() - started, time.process_time() - cpu_started), observations, relations, total, estate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "bench.sqlite"
    schema = load_schema()
    store = SQLiteStore(path, schema)
    ingestor = Ingestor(store, schema)
    print(f"estate: ~{args.cis} CIs requested; store {path}")
    for label in ("first load", "no-change re-ingest"):
        (seconds, cpu), obs, rels, report, estate = one_pass(ingestor, args.cis)
        print(f"{label:>20}: wall {seconds:6.1f} s ({obs / seconds:7.0f} obs/s, {rels / seconds:7.0f} rels/s)"
              f"  CPU {cpu:6.1f} s ({obs / cpu:7.0f} obs/s, {rels / cpu:7.0f} rels/s)"
              f"  [{obs} observations, {rels} relationships; created {report.created}, updated {report.updated},"
              f" rejected {len(report.rejected)}]")
    counts = store.counts()
    print(f"ground truth: {len(estate.truth.cis)} CIs, {len(estate.truth.relationships)} relationships")
    print(f"store: {counts.cis} CIs, {counts.relationships} relationships, {counts.history} history entries")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    store.close()


if __name__ == "__main__":
    main()
