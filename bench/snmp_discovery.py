"""Benchmark: SNMP discovery of N simulated devices (snmpsim) with full ingest, compared in
the same run with a bare pysnmp bulk walk of the same tables against the same agents.

    .venv/bin/python bench/snmp_discovery.py [--devices 200] [--concurrency 32]

Prints devices/s, OIDs/s and client CPU per device for both, and their ratio. The
simulator (one snmpsim process on 127.0.0.1, one community per device) sets the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    bulk_cmd,
    get_cmd,
)

from cmdb.ingest import Ingestor, IngestReport
from cmdb.store.sqlite import SQLiteStore
from discovery.base import ScopeResult
from discovery.snmp import oids
from discovery.snmp.client import ClientOptions, Endpoint, SnmpClient
from discovery.snmp.collect import WALK_GROUPS
from discovery.snmp.credentials import SecretRef, V2cCredential
from discovery.snmp.scanner import ScanOptions, SnmpScanner
from discovery.snmp.targets import parse_targets
from labs.demo.processes import terminate
from labs.snmp import device_files
from schema import load_schema

BASES = ["core1", "dist1", "acc1", "rtr1", "fw1"]


def make_devices(data: Path, count: int) -> list[str]:
    """``count`` distinct devices cloned from the lab (new sysName, serial, chassis id)."""
    files = device_files()
    names = []
    for i in range(count):
        base = BASES[i % len(BASES)]
        text = files[base].read_text(encoding="utf-8")
        name = f"d{i:04d}"
        text = text.replace(f"{base}.lab.example", f"{name}.bench.example")
        text = re.sub(r"(1\.3\.6\.1\.2\.1\.47\.1\.1\.1\.1\.11\.1\|4\|)\S+", rf"\g<1>BENCH{i:06d}", text)
        text = re.sub(r"(1\.0\.8802\.1\.1\.2\.1\.3\.2\.0\|4x\|)\S+", rf"\g<1>02be{i:08x}", text)
        (data / f"{name}.snmprec").write_text(text, encoding="utf-8")
        names.append(name)
    return names


def start_agent(data: Path, work: Path) -> tuple[subprocess.Popen[bytes], Endpoint]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    (work / "variation").mkdir()
    binary = Path(sys.executable).with_name("snmpsim-command-responder")
    log = open(work / "snmpsim.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(binary), "--v3-engine-id=auto", f"--variation-modules-dir={work / 'variation'}", f"--data-dir={data}",
         f"--cache-dir={work / 'cache'}", f"--agent-udpv4-endpoint=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"})
    return proc, Endpoint("127.0.0.1", port)


async def wait_ready(endpoint: Endpoint, community: str, timeout: float = 120) -> None:
    engine = SnmpEngine()
    target = await UdpTransportTarget.create((endpoint.host, endpoint.port), timeout=0.5, retries=0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        err, _, _, _ = await get_cmd(engine, CommunityData(community, mpModel=1), target, ContextData(),
                                     ObjectType(ObjectIdentity("1.3.6.1.2.1.1.5.0")), lookupMib=False)
        if not err:
            engine.close_dispatcher()
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("snmpsim did not answer")


async def bare_walk(endpoint: Endpoint, names: list[str], concurrency: int) -> tuple[float, int, float]:
    """The simulator's limit for the same requests: pysnmp ``get_cmd``/``bulk_cmd`` on one
    engine, the same scalars and the same column groups walked together, nothing else
    (no bounds, no parsing, no Observations). Returns (seconds, OIDs, client CPU seconds)."""
    engine = SnmpEngine()
    # Same engine set-up as the scanner's (without pysmi's parser, several seconds of CPU),
    # so the comparison is about requests and processing only.
    SnmpClient(engine=engine)
    target = await UdpTransportTarget.create((endpoint.host, endpoint.port), timeout=5, retries=1)
    gate = asyncio.Semaphore(concurrency)
    count = 0
    requests = 0

    async def one(name: str) -> None:
        nonlocal count, requests
        async with gate:
            auth = CommunityData(name, mpModel=1)
            requests += 1
            _, _, _, vbs = await get_cmd(engine, auth, target, ContextData(),
                                         *[ObjectType(ObjectIdentity(oids.dotted(o))) for o in oids.SCALARS],
                                         lookupMib=False)
            count += sum(1 for _, v in vbs if not isinstance(v, univ.Null))
            for group in WALK_GROUPS:
                columns = [c for t in group for c in t.column_oids()]
                cursor = list(columns)
                while columns:
                    reps = max(1, min(50, 60 // len(columns)))
                    err, _, _, vbs = await bulk_cmd(engine, auth, target, ContextData(), 0, reps,
                                                    *[ObjectType(ObjectIdentity(oids.dotted(c))) for c in cursor],
                                                    lookupMib=False)
                    if err or not vbs:
                        break
                    requests += 1
                    width = len(columns)
                    last: dict[int, tuple[int, ...]] = {}
                    done: set[int] = set()
                    for i, (oid_, value) in enumerate(vbs):
                        col = i % width
                        key = tuple(oid_)
                        if col in done:
                            continue
                        if key[: len(columns[col])] != columns[col] or isinstance(value, univ.Null):
                            done.add(col)  # left its column: stop it, as the scanner does
                            continue
                        count += 1
                        last[col] = key
                    live = [c for c in range(width) if c not in done and c in last]
                    nxt = [last[c] for c in live]
                    columns, cursor = [columns[c] for c in live], nxt

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in names))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.close_dispatcher()
    print(f"bare walk: {requests} requests")
    return wall, count, cpu


async def scan_all(scanner: SnmpScanner) -> list[ScopeResult]:
    """Every scope the scanner yields: one per device part, the links, the scope itself."""
    return [result async for result in scanner.scan()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--scanner-first", action="store_true", help="run the scanner before the bare walk")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop snmpsim on the way out

    work = Path(tempfile.mkdtemp(prefix="snmp-bench-"))
    data = work / "data"
    data.mkdir()
    names = make_devices(data, args.devices)
    proc, endpoint = start_agent(data, work)
    try:
        started = time.perf_counter()
        asyncio.run(wait_ready(endpoint, names[-1]))
        print(f"snmpsim: {args.devices} devices on {endpoint}, ready in {time.perf_counter() - started:.1f} s")

        if not args.scanner_first:
            bare_s, bare_oids, bare_cpu = asyncio.run(bare_walk(endpoint, names, args.concurrency))

        for name in names:
            os.environ[f"BENCH_COMMUNITY_{name}"] = name
        creds = {n: V2cCredential(name=n, community=SecretRef(env=f"BENCH_COMMUNITY_{n}")) for n in names}
        targets = parse_targets({"scope": "bench", "port": endpoint.port,
                                 "targets": [{"seeds": [endpoint.host], "credentials": [n]} for n in names]})
        scanner = SnmpScanner(targets, creds, ScanOptions(concurrency=args.concurrency, device_deadline=120,
                                                          client=ClientOptions(timeout=5, retries=1)))
        cpu, wall = time.process_time(), time.perf_counter()
        results = asyncio.run(scan_all(scanner))
        scan_s, scan_cpu = time.perf_counter() - wall, time.process_time() - cpu
        items = sum(len(r.items) for r in results)
        if args.scanner_first:
            bare_s, bare_oids, bare_cpu = asyncio.run(bare_walk(endpoint, names, args.concurrency))

        store = SQLiteStore(work / "bench.sqlite")
        ingestor = Ingestor(store, load_schema())
        wall = time.perf_counter()
        report = IngestReport()
        for result in results:  # each device's part, the links, the scope (as discovery.runner does)
            with ingestor.run("snmp", result.scope) as run:
                report.add(run.ingest(result.items))
                if not result.complete:
                    run.incomplete(*result.errors)
        ingest_s = time.perf_counter() - wall
        store.close()
    finally:
        terminate(proc)
        shutil.rmtree(work, ignore_errors=True)

    stats = scanner.summary.stats()
    n = args.devices
    print(f"scanner : {n / scan_s:7.1f} devices/s  {stats['varbinds'] / scan_s:8.0f} OIDs/s  "
          f"client CPU {1000 * scan_cpu / n:6.1f} ms/device  ({scan_s:.2f} s, {stats['varbinds']} OIDs, "
          f"{stats['requests']} requests, devices ok {stats['devices']}, failed {stats['failed']})")
    print(f"bare    : {n / bare_s:7.1f} devices/s  {bare_oids / bare_s:8.0f} OIDs/s  "
          f"client CPU {1000 * bare_cpu / n:6.1f} ms/device  ({bare_s:.2f} s, {bare_oids} OIDs)")
    print(f"ingest  : {items} items in {len(results)} runs, {ingest_s:.2f} s ({items / ingest_s:.0f} items/s), "
          f"created {report.created}, rejected {len(report.rejected)}")
    print(f"ratio scanner/bare (devices/s): {bare_s / scan_s:.2f}  (target >= 0.8)")
    print(f"end to end (scan + ingest): {n / (scan_s + ingest_s):.1f} devices/s")


if __name__ == "__main__":
    main()
