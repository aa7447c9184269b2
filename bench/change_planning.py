"""Benchmark change planning on the synthetic estate: one change alone, then a slot of overlapping changes.

    .venv/bin/python bench/change_planning.py                       # 20k CIs, 8 overlapping changes
    .venv/bin/python bench/change_planning.py --cis 100000 --changes 16

Planning a change computes its impact, the impact of every open change overlapping
its window (conflicts, the slot's combined impact), single points of failure per
impacted service, and then re-checks each overlapping change (living conflicts):
with k changes in one slot, planning the k-th costs about k plans. The figures
are wall and CPU time per ``ChangeService.plan`` and per bare ``ChangePlanner.plan``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import estate_streams

from cmdb.changes import ChangeAction, NewChange
from cmdb.changes.wiring import ChangeSettings, build_change_service
from cmdb.impact import ImpactService
from cmdb.ingest import Ingestor
from cmdb.model import CIQuery
from cmdb.observation import now_ms
from cmdb.store.sqlite import SQLiteStore
from cmdb.topology.index import TopologyIndex
from schema import load_schema

DAY = 86_400_000
HOUR = 3_600_000


def timed(fn: object) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()  # type: ignore[operator]
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=8, help="changes in one slot")
    parser.add_argument("--class", dest="ci_class", default="physical_server", help="class of the changed CIs")
    args = parser.parse_args()
    catalog = load_schema()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "cmdb.sqlite", catalog)
        ingestor = Ingestor(store, catalog)
        started = time.perf_counter()
        _, streams = estate_streams(args.cis)
        for source, scope, stream in streams:
            with ingestor.run(source, scope) as run:
                run.ingest(stream)
        print(f"estate: ~{args.cis} CIs ingested in {time.perf_counter() - started:.1f} s")
        index = TopologyIndex.load(store, catalog)
        service = build_change_service(store, catalog, ImpactService(index, catalog),
                                       settings=ChangeSettings(db_path=Path(tmp) / "changes.sqlite"))
        hosts = [ci.uid for ci in store.search(CIQuery(classes=(args.ci_class,), limit=args.changes)).items]
        slot = now_ms() + 3 * DAY
        rows = []
        for k, host in enumerate(hosts, start=1):
            uid = service.create(NewChange(title=f"patch {k}", cis=(host,), action=ChangeAction.RESTART,
                                           start=slot + k * 60_000, end=slot + 2 * HOUR, requester="bench",
                                           implementation_plan="i", backout_plan="b")).uid
            bare_wall, bare_cpu, plan = timed(lambda u=uid: service.planner.plan(service.get(u)))
            wall, cpu, _ = timed(lambda u=uid: service.plan(u))
            rows.append((k, len(plan.impacted), len(plan.services), len(plan.conflicts),  # type: ignore[attr-defined]
                         bare_wall, bare_cpu, wall, cpu))
        print(f"{'k':>3} {'impacted':>8} {'services':>8} {'conflicts':>9} {'bare plan ms (wall/cpu)':>24} "
              f"{'plan + re-check ms (wall/cpu)':>30}")
        for k, n, s, c, bw, bc, w, pc in rows:
            print(f"{k:>3} {n:>8} {s:>8} {c:>9} {bw:>12.1f} / {bc:<9.1f} {w:>16.1f} / {pc:<9.1f}")
        print(f"load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
        service.repository.close()
        store.close()


if __name__ == "__main__":
    main()
