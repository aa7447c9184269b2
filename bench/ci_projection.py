"""Cost of projecting domain CIs onto their GraphQL family type (``graph_api.cis.types.ci_type``).

``python bench/ci_projection.py [--cis N]``: projects N ``host`` CIs (device family, 30 catalog
attributes) and reads three typed family fields of each, as a ``cis`` page selecting
``... on DeviceCI { fqdn cpuCount memoryMb }`` does; prints the median of 7 rounds per CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from operator import attrgetter

from cmdb.model import CI
from graph_api.cis.types import ci_type, family_types
from schema import load_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=20_000)
    args = parser.parse_args()
    family_types(load_schema())  # what building the app's schema does first
    cis = [CI(f"u{i}", "host", {"name": f"web{i}", "fqdn": f"web{i}.example", "cpu_count": 8, "memory_mb": 16384,
                                "os_name": "linux", "owner": "ops"}) for i in range(args.cis)]
    fields = attrgetter("fqdn"), attrgetter("cpu_count"), attrgetter("memory_mb")
    projected: list[float] = []
    read: list[float] = []
    for _ in range(7):
        started = time.perf_counter()
        objects = [ci_type(ci) for ci in cis]
        projected.append(time.perf_counter() - started)
        started = time.perf_counter()
        for obj in objects:
            for field in fields:
                field(obj)
        read.append(time.perf_counter() - started)
    print(f"{args.cis} CIs, load {os.getloadavg()[0]:.1f}: ci_type {statistics.median(projected) / args.cis * 1e6:.1f} "
          f"us/CI; 3 family fields read {statistics.median(read) / args.cis * 1e6:.1f} us/CI")


if __name__ == "__main__":
    main()
