"""Benchmark: AWS discovery of 1000 instances in 3 regions (with their root volumes and ENIs).

Starts its own moto server (stopped by PID), builds the estate, then measures:
  raw     the scanner's describe calls alone (same calls, same worker pool, no transform, no ingest)
  whole   the whole discovery: scan + transform + ingest into a fresh SQLite store (first run)
  again   a second identical discovery (zero changes)
and prints the figures; the target is whole <= 1.5 x raw.

Usage: .venv/bin/python bench/aws_discovery.py [--instances 1000] [--regions us-east-1,eu-west-1,ap-southeast-2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from cmdb.ingest import Ingestor
from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.aws import AccountSources, AwsScanConfig, AwsScanner, ClientSettings, Credentials
from discovery.aws.client import AwsCaller, collect_global, collect_region, make_session
from discovery.runner import run_scan
from labs.demo.aws_company import start_moto
from labs.demo.processes import terminate
from schema import load_schema

KEYS = Credentials("testing", "testing")


def build(endpoint: str, regions: list[str], instances: int) -> None:
    per_region = [instances // len(regions) + (1 if i < instances % len(regions) else 0) for i in range(len(regions))]
    for region, count in zip(regions, per_region, strict=True):
        ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=region,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        while count > 0:
            batch = min(count, 200)
            ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=batch, MaxCount=batch, SubnetId=subnet)
            count -= batch


def raw_calls(endpoint: str, regions: list[str], workers: int) -> tuple[float, int]:
    """The scanner's calls alone, in the same pool shape; returns (seconds, calls)."""
    settings = ClientSettings(endpoint_url=endpoint, max_attempts=2)

    def one(region: str | None) -> int:
        caller = AwsCaller(make_session(KEYS), region or "us-east-1", settings)
        (collect_global if region is None else collect_region)(caller)
        assert not caller.errors, caller.errors
        return caller.calls

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        calls = sum(pool.map(one, [None, *regions]))
    return time.perf_counter() - started, calls


def discovery(endpoint: str, regions: list[str], workers: int, store: SQLiteStore) -> tuple[float, dict[str, int]]:
    scanner = AwsScanner(AwsScanConfig(accounts=AccountSources(base_credentials=KEYS), regions=tuple(regions),
                                       client=ClientSettings(endpoint_url=endpoint, max_attempts=2),
                                       max_workers=workers))
    ingestor = Ingestor(store, load_schema())
    started = time.perf_counter()
    runs = asyncio.run(run_scan(scanner, ingestor))
    seconds = time.perf_counter() - started
    assert all(r.status is RunStatus.COMPLETE for r in runs), [r.errors for r in runs]
    totals: dict[str, int] = {}
    for run in runs:
        for key in ("created", "updated", "unchanged", "relationships_created", "relationships_unchanged",
                    "rejected", "scan_items", "scan_api_calls"):
            totals[key] = totals.get(key, 0) + run.counts.get(key, 0)
    return seconds, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--regions", default="us-east-1,eu-west-1,ap-southeast-2")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="raw-call measurements (best is kept)")
    args = parser.parse_args()
    regions = [r for r in args.regions.split(",") if r]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    proc, endpoint = start_moto(Path(tempfile.mkdtemp(prefix="bench-moto-")))
    try:
        started = time.perf_counter()
        build(endpoint, regions, args.instances)
        print(f"estate: {args.instances} instances in {len(regions)} regions built in "
              f"{time.perf_counter() - started:.1f} s")
        raws = [raw_calls(endpoint, regions, args.workers) for _ in range(args.repeat)]
        raw, calls = min(raws)
        print(f"raw describe calls: {calls} calls, best {raw:.2f} s of {', '.join(f'{r:.2f}' for r, _ in raws)}")
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteStore(Path(tmp) / "bench.db")
            try:
                whole, totals = discovery(endpoint, regions, args.workers, store)
                print(f"whole discovery (first run): {whole:.2f} s = {whole / raw:.2f} x raw; "
                      f"{totals['scan_items']} items, {totals['created']} CIs and "
                      f"{totals['relationships_created']} relationships created, {totals['rejected']} rejected")
                again, totals = discovery(endpoint, regions, args.workers, store)
                print(f"whole discovery (second run, no change): {again:.2f} s = {again / raw:.2f} x raw; "
                      f"{totals['created'] + totals['updated']} CIs changed")
                counts = store.counts()
                print(f"store: {counts.cis} CIs, {counts.relationships} relationships, {counts.history} history")
            finally:
                store.close()
    finally:
        terminate(proc)


if __name__ == "__main__":
    main()
