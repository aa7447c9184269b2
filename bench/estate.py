"""Generate the synthetic estate as JSON lines of observations, with its ground truth.

    python bench/estate.py --cis 100000 --out /tmp/estate     # 100k CIs, ~400k relationships
    python bench/estate.py --cis 1000000 --out /tmp/estate-1m # 1M CIs, ~4-5M relationships

Writes one ``<source>__<scope>.jsonl`` file per scope (ingest each with
``cmdb ingest FILE --source S --scope SCOPE``), plus ``truth.json`` with the
counts the ingest must end with. Other benchmarks import ``estate_streams``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path

from cmdb.observation import Item, dump_item
from labs.synthetic import EstateSpec, SyntheticEstate


def estate_streams(cis: int, rels_per_ci: float = 4.0, seed: int = 7) -> tuple[SyntheticEstate, Iterator[tuple[str, str, Iterator[Item]]]]:
    """The estate and its (source, scope, items) streams, generated lazily."""
    estate = SyntheticEstate(EstateSpec.for_size(cis, rels_per_ci, seed))
    return estate, estate.streams()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=100_000, help="approximate number of CIs")
    parser.add_argument("--rels-per-ci", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    estate, streams = estate_streams(args.cis, args.rels_per_ci, args.seed)
    items = 0
    for source, scope, stream in streams:
        path = args.out / f"{source}__{scope.replace('/', '_')}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for item in stream:
                handle.write(json.dumps(dump_item(item)) + "\n")
                items += 1
    truth = {"cis": len(estate.truth.cis), "relationships": len(estate.truth.relationships), "items": items,
             "spec": estate.spec.__dict__ if hasattr(estate.spec, "__dict__") else repr(estate.spec)}
    (args.out / "truth.json").write_text(json.dumps(truth, indent=2, default=str))
    print(f"{items} items, ground truth {truth['cis']} CIs / {truth['relationships']} relationships "
          f"in {time.perf_counter() - started:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
