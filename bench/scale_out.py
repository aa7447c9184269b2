"""Throughput of 1, 2 and 3 ``cmdb serve`` replicas behind Debian's nginx, on one Neo4j store.

    .venv/bin/python bench/scale_out.py                          # 5,000 CIs, 20 clients, 15 s per step
    .venv/bin/python bench/scale_out.py --cis 20000 --clients 50 --duration 20

Starts a local Neo4j (the repository's launcher), seeds the synthetic estate
(``bench/estate.py``) through the Ingestor, then for each replica count starts that many
``cmdb serve`` processes (one worker each, every one following the store's change log)
and nginx in front (``least_conn``, keep-alive upstreams), and drives impact queries
(``maxDepth: 6``, random infrastructure roots) through nginx with the keep-alive load
generator of ``bench/api.py``. Prints req/s and p50/p95/p99 per step. On a 2-core machine
expect little gain: the point of replicas is that each stays correct (tests/api/test_scale_out.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from api import IMPACT, IMPACT_ROOT_CLASSES, load, pct  # noqa: E402
from estate import estate_streams  # noqa: E402

from cmdb.ingest import Ingestor  # noqa: E402
from cmdb.store.cypher.neo4j_server import Neo4jServer  # noqa: E402
from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport  # noqa: E402
from cmdb.store.cypher.store import CypherStore  # noqa: E402
from cmdb.store.tokens_sqlite import SQLiteTokenStore  # noqa: E402
from cmdb.tokens import Role, TokenService  # noqa: E402
from schema import load_schema  # noqa: E402
from tests.api.scaleout import nginx_in_front, replicas  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    catalog = load_schema()
    with tempfile.TemporaryDirectory(prefix="cmdb-scale-") as tmp, Neo4jServer(Path(tmp) / "neo4j") as server:
        work = Path(tmp)
        store = CypherStore(Neo4jTransport(Neo4jOptions(uri=server.url)), catalog)
        store.init_schema()
        started = time.perf_counter()
        ingestor = Ingestor(store, catalog)
        _, streams = estate_streams(args.cis)
        for source, scope, stream in streams:
            with ingestor.run(source, scope) as run:
                run.ingest(stream)
        roots = [row.uid for batch in store.iter_nodes() for row in batch if row.ci_class in IMPACT_ROOT_CLASSES]
        print(f"seeded {store.counts().cis} CIs into Neo4j in {time.perf_counter() - started:.0f} s; "
              f"change-log position {store.change_feed_position()}", flush=True)
        store.close()
        roots = random.Random(7).sample(roots, min(2000, len(roots)))
        env = {**os.environ, "CMDB_DATA_DIR": str(work), "CMDB_JOBS_FILE": str(work / "none.yaml"),
               "CMDB_API_RESULT_CACHE_SIZE": "0", "PYTHONPATH": str(ROOT)}
        env.pop("CMDB_STORE_URL", None)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        _, token = TokenService(SQLiteTokenStore(work / "tokens.sqlite")).create("bench", Role.VIEWER)
        for n in args.replicas:
            with replicas(n, server.url, work, env) as urls, nginx_in_front(urls, work / f"nginx-{n}") as front:
                variables: list[dict[str, object]] = [{"u": [u]} for u in roots]
                asyncio.run(load(front, token, IMPACT, variables, 2, 2.0))  # warm up
                out = asyncio.run(load(front, token, IMPACT, variables, args.clients, args.duration))
                lat = out.latencies
                print(f"replicas={n}  clients={args.clients}  {out.ok / out.seconds:7.1f} req/s  "
                      f"p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  "
                      f"errors {out.errors}  ({platform.machine()}, {os.cpu_count()} cores, "
                      f"load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
