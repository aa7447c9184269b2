"""The ingest's CPU time alone, first load then a no-change re-ingest, for A/B comparisons.

    python bench/ingest_cpu.py 10000 label      # prints: label first <CPU s> again <CPU s>

What bench/ingest.py times, without its reporting: every scope of the synthetic estate is
generated first, then one ``ingestor.run`` of each scope under
``time.process_time``. Small and quick, so two versions of the code (``git archive``
copies, each run with its own PYTHONPATH) can be alternated many times in the same
minutes and compared by their minima on a machine others share.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import estate_streams

from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema


def one_pass(ingestor: Ingestor, cis: int) -> float:
    _, streams = estate_streams(cis)
    scopes = [(source, scope, list(stream)) for source, scope, stream in streams]
    started = time.process_time()
    for source, scope, items in scopes:
        with ingestor.run(source, scope) as run:
            run.ingest(items)
    return time.process_time() - started


def main() -> None:
    cis = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    label = sys.argv[2] if len(sys.argv) > 2 else "ingest"
    schema = load_schema()
    store = SQLiteStore(Path(tempfile.mkdtemp()) / "bench.sqlite", schema)
    ingestor = Ingestor(store, schema)
    first = one_pass(ingestor, cis)
    again = one_pass(ingestor, cis)
    print(f"{label} first {first:.2f} again {again:.2f}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
