"""Benchmark: SSH host discovery of >=100 hosts at once, against a bare asyncssh run of the same script.

Builds a namespace lab (a few sshds, each answering on many addresses: every
address is one inventory host), then, in the same process and against the same
hosts, alternates:

- **bare**: asyncssh connect + ``sh -s`` with the collection script, nothing else
  (the rate the local sshds allow), with the scanner's cipher preference so that
  the ratio measures only what the scanner adds;
- **scanner**: ``SSHScanner.scan()`` end to end without a store: host-key check,
  collection, parsing, Observations and dependency inference.

Both are warmed up on 8 hosts first, and which of the two goes first alternates
from round to round (a shared machine's load drifts within a round). Prints
hosts/s, client CPU per host (this process's CPU time / hosts), the load average,
and the scanner/bare ratio (of the medians, and per round). Needs root, iproute2
and openssh-server.

    .venv/bin/python bench/host_discovery.py --hosts 120 --sshds 4 --concurrency 32 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import asyncssh

from discovery.ssh.client import ENCRYPTION_ALGS
from discovery.ssh.inventory import Credentials, HostEntry, HostKeysConfig, Inventory
from discovery.ssh.scanner import SSHScanner
from discovery.ssh.script import build_script
from labs.ssh.hosts import Lab


def build_inventory(lab: Lab, per_host: dict[str, list[str]], concurrency: int, workdir: Path) -> Inventory:
    entries, fps = [], {}
    for host in lab.hosts:
        for addr in per_host[host.name]:
            name = f"h-{addr}"
            entries.append(HostEntry(name=name, address=addr))
            fps[name] = [host.fingerprint]
    store = workdir / "bench-fingerprints.json"
    store.write_text(json.dumps(fps))
    return Inventory(
        scope="bench", hosts=entries, concurrency=concurrency, deadline_s=120, connect_timeout_s=30,
        defaults=Credentials(user="root", port=22, key_file=str(lab.client_key_path)),
        host_keys=HostKeysConfig(mode="fingerprints", file=str(store)),
    )


async def bare(lab: Lab, inv: Inventory) -> tuple[float, float, int]:
    """Same hosts, same script, same concurrency: connect, run, read stdout. No verification, no parsing."""
    keys = inv.defaults.load_keys()
    script = build_script()
    sem = asyncio.Semaphore(inv.concurrency)
    ok = 0

    async def one(target) -> None:  # type: ignore[no-untyped-def]
        nonlocal ok
        async with sem:
            sock = await lab.connector(target)
            async with asyncssh.connect(target.address, 22, sock=sock, username="root", client_keys=keys,
                                        agent_path=None, known_hosts=None, config=None,
                                        encryption_algs=list(ENCRYPTION_ALGS)) as conn:
                result = await conn.run("sh -s", input=script, check=False)
                ok += bool(result.stdout)

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(t) for t in inv.targets()))
    return time.perf_counter() - t0, time.process_time() - c0, ok


async def scanner(lab: Lab, inv: Inventory) -> tuple[float, float, int, int]:
    scan = SSHScanner(inv, connector=lab.connector)
    items = complete = 0
    t0, c0 = time.perf_counter(), time.process_time()
    async for result in scan.scan():
        items += len(result.items)
        complete += result.complete and not result.scope.endswith(":traffic")
    return time.perf_counter() - t0, time.process_time() - c0, complete, items


def server_cpu(lab: Lab) -> float:
    """CPU seconds used so far by the lab's sshds and everything they ran (reaped children included)."""
    total = 0
    for host in lab.hosts:
        fields = Path(f"/proc/{host.init_pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=120)
    parser.add_argument("--sshds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--net", default="10.250.40")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cmdb-bench-hosts-") as tmp, Lab(Path(tmp), net=args.net) as lab:
        workdir = Path(tmp)  # keys and the fingerprint store: removed at the end
        per = -(-args.hosts // args.sshds)
        for i in range(args.sshds):
            lab.add_host(f"sshd{i}", extra_addresses=min(per, args.hosts - i * per))
        t0 = time.perf_counter()
        lab.start()
        per_host = {h.name: h.extra_addresses for h in lab.hosts}
        inv = build_inventory(lab, per_host, args.concurrency, workdir)
        n = len(inv.targets())
        print(f"lab: {args.sshds} sshds, {n} hosts (addresses), concurrency {args.concurrency}, "
              f"built in {time.perf_counter() - t0:.1f}s; load average {os.getloadavg()[0]:.1f}")
        warm = inv.model_copy(update={"hosts": inv.hosts[:8]})
        asyncio.run(bare(lab, warm))  # warm up both (first connections, imports, caches)
        asyncio.run(scanner(lab, warm))
        bare_rates, scan_rates, bare_cpu, scan_cpu, sshd_cpu = [], [], [], [], []

        def run_bare(r: int) -> None:
            s0 = server_cpu(lab)
            wall, cpu, ok = asyncio.run(bare(lab, inv))
            bare_rates.append(n / wall)
            bare_cpu.append(cpu / n)
            sshd_cpu.append((server_cpu(lab) - s0) / n)
            print(f"round {r + 1} bare:    {ok}/{n} hosts in {wall:.2f}s = {n / wall:.1f} hosts/s, "
                  f"client CPU {1000 * cpu / n:.1f} ms/host, sshd side {1000 * sshd_cpu[-1]:.0f} ms/host, "
                  f"load {os.getloadavg()[0]:.1f}")

        def run_scanner(r: int) -> None:
            s0 = server_cpu(lab)
            wall, cpu, complete, items = asyncio.run(scanner(lab, inv))
            scan_rates.append(n / wall)
            scan_cpu.append(cpu / n)
            sshd_cpu.append((server_cpu(lab) - s0) / n)
            print(f"round {r + 1} scanner: {complete}/{n} hosts complete, {items} items in {wall:.2f}s = "
                  f"{n / wall:.1f} hosts/s, client CPU {1000 * cpu / n:.1f} ms/host, sshd side {1000 * sshd_cpu[-1]:.0f} ms/host, "
                  f"load {os.getloadavg()[0]:.1f}")

        for r in range(args.rounds):
            # Alternate which goes first: the load of a shared machine drifts within a round.
            for run in ((run_bare, run_scanner) if r % 2 == 0 else (run_scanner, run_bare)):
                run(r)
        b, s = statistics.median(bare_rates), statistics.median(scan_rates)
        server, client = statistics.median(sshd_cpu), statistics.median(scan_cpu)
        paired = ", ".join(f"{sr / br:.2f}" for br, sr in zip(bare_rates, scan_rates, strict=True))
        print(f"median bare {b:.1f} hosts/s, scanner {s:.1f} hosts/s, ratio {s / b:.2f} (target >= 0.8; per round {paired}); "
              f"client CPU/host bare {1000 * statistics.median(bare_cpu):.1f} ms, scanner {1000 * client:.1f} ms; "
              f"sshd-side CPU/host {1000 * server:.0f} ms")
        print(f"CPU-bound ceiling on {os.cpu_count()} idle cores: {os.cpu_count() or 1} / ({1000 * server:.0f} + "
              f"{1000 * client:.0f} ms) = {(os.cpu_count() or 1) / (server + client):.1f} hosts/s; "
              f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
