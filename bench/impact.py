"""Benchmark the topology index and impact queries on a synthetic 1M-CI / 5M-relationship estate.

    .venv/bin/python bench/impact.py                      # 1M CIs, 5M relationships
    .venv/bin/python bench/impact.py --cis 100000 --rels 500000 --queries 200   # quick
    .venv/bin/python bench/impact.py --network-devices 50000   # with a three-tier network (see below)

With ``--network-devices N`` the switch and interface layers are replaced by a
network as the SNMP scanner reports it: sites of 2,000 devices (2 routers as
uplinks, 2 cores cabled to both routers and to each other, 18 distribution pairs
cabled to both cores, access switches cabled to both switches of a pair or, one in
five, by a two-member LAG to one), every physical server attached to one or two
access switches (half of them dual-homed; half by LLDP cables, half by FDB evidence:
``port -[SEEN_BEHIND]-> address`` with the server's NIC holding the address).
Ports are interfaces inside their devices. The same generator runs under today's
code (``PYTHONPATH=/work/main``) for the comparison of build times.

The estate is generated with numpy in a layered shape (sites > racks > servers >
VMs > processes > applications > business services, clusters with min_up, NICs
cabled to switch ports, volumes, subnets, traffic-inferred process dependencies
with confidences, and informational edges that never propagate), then fed to
``TopologyIndex.from_rows`` as the store's NodeRow/EdgeRow batches would be.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cmdb.impact import DependencyRequest, ImpactRequest, ImpactService
from cmdb.model import CI, ChangeSet, Lifecycle, Relationship, RelEvidence, rel_uid
from cmdb.store.protocol import EdgeRow, NodeRow
from cmdb.topology import TopologyIndex
from schema import load_schema

LAYERS = [  # class, share of the CIs (ip_address takes the rest)
    ("location", 0.00005), ("rack", 0.002), ("physical_server", 0.04), ("switch", 0.002), ("subnet", 0.002),
    ("virtual_machine", 0.12), ("cluster", 0.01), ("software_instance", 0.30), ("database", 0.01),
    ("application", 0.02), ("business_service", 0.002), ("interface", 0.25), ("volume", 0.05),
    ("security_group", 0.005),
]


SITE = 2000  # network devices per site
DIST_PAIRS = 18


@dataclass
class Estate:
    classes: list[str]  # per CI
    ranges: dict[str, tuple[int, int]]
    min_up: dict[int, str]
    owners: dict[int, str]
    src: np.ndarray
    dst: np.ndarray
    types: list[str]
    etype: np.ndarray
    method: np.ndarray  # 0 declared, 1 traffic
    conf: np.ndarray
    active: np.ndarray
    cores: np.ndarray | None = None


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _network_plan(n_devices: int, n_servers: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Links of a three-tier network by local device number (routers first), and host attachments."""
    sites = max(1, n_devices // SITE)
    per = n_devices // sites
    n_access = per - 4 - 2 * DIST_PAIRS
    la: list[np.ndarray] = []
    lb: list[np.ndarray] = []
    routers, cores, access_all = [], [], []
    for s in range(sites):
        base = s * per
        r = np.array([base, base + 1])
        c = np.array([base + 2, base + 3])
        d = base + 4 + np.arange(2 * DIST_PAIRS)
        a = base + 4 + 2 * DIST_PAIRS + np.arange(n_access)
        routers.append(r)
        cores.append(c)
        access_all.append(a)
        la += [np.repeat(r, 2), np.array([c[0]]), np.repeat(c, len(d))]
        lb += [np.tile(c, 2), np.array([c[1]]), np.tile(d, 2)]
        pair = a % DIST_PAIRS
        lag = rng.random(n_access) < 0.2
        # Dual-homed to both switches of a pair, or a two-member LAG to the first.
        la += [a, a]
        lb += [d[2 * pair], np.where(lag, d[2 * pair], d[2 * pair + 1])]
    router_ids = np.concatenate(routers)
    access = np.concatenate(access_all)
    site_of_server = np.arange(n_servers) % sites
    first = access_all[0].shape[0]
    pick1 = np.array([access_all[s][i] for s, i in zip(site_of_server, rng.integers(0, first, n_servers), strict=True)])
    pick2 = np.array([access_all[s][i] for s, i in zip(site_of_server, rng.integers(0, first, n_servers), strict=True)])
    dual = (rng.random(n_servers) < 0.5) & (pick1 != pick2)
    host_sw = np.concatenate([pick1, pick2[dual]])
    host = np.concatenate([np.arange(n_servers), np.arange(n_servers)[dual]])
    lldp = rng.random(host.shape[0]) < 0.5
    # Number the routers first (their class range), then the switches.
    total = sites * per
    assert total == n_devices, f"--network-devices must be a multiple of {SITE}"
    order = np.concatenate([router_ids, np.setdiff1d(np.arange(total), router_ids)])
    new = np.empty(total, np.int64)
    new[order] = np.arange(total)
    return {"la": new[np.concatenate(la)], "lb": new[np.concatenate(lb)], "routers": new[router_ids],
            "cores": new[np.concatenate(cores)], "access": new[access], "host": host, "host_sw": new[host_sw],
            "lldp": lldp}


def generate(n_cis: int, n_rels: int, seed: int, net_devices: int = 0) -> Estate:
    """A layered estate with exactly ``n_cis`` CIs and ``n_rels`` relationships."""
    rng = np.random.default_rng(seed)
    ranges: dict[str, tuple[int, int]] = {}
    start = 0
    plan: dict[str, np.ndarray] | None = None
    if net_devices:
        plan = _network_plan(net_devices, max(2, int(n_cis * dict(LAYERS)["physical_server"])), rng)
        n_links, n_attach = len(plan["la"]), len(plan["host"])
    for cls, share in LAYERS:
        count = max(2, int(n_cis * share))
        if plan is not None and cls == "switch":
            ranges["router"] = (start, start + len(plan["routers"]))
            start += len(plan["routers"])
            count = net_devices - len(plan["routers"])
        elif plan is not None and cls == "interface":
            count = 2 * (n_links + n_attach)
        ranges[cls] = (start, start + count)
        start += count
    assert start < n_cis, "the network does not fit in --cis"
    ranges["ip_address"] = (start, n_cis)
    classes: list[str] = []
    for cls, (lo, hi) in ranges.items():
        classes.extend([cls] * (hi - lo))

    def ids(cls: str) -> np.ndarray:
        lo, hi = ranges[cls]
        return np.arange(lo, hi, dtype=np.int64)

    def pick(cls: str, size: int) -> np.ndarray:
        lo, hi = ranges[cls]
        return rng.integers(lo, hi, size)

    def block(child: str, parent: str) -> tuple[np.ndarray, np.ndarray]:
        """Each child to one parent, in contiguous blocks (servers fill racks in order)."""
        c = ids(child)
        plo, phi = ranges[parent]
        return c, plo + (c - c[0]) * (phi - plo) // len(c)

    types = ["LOCATED_IN", "CONTAINS", "HOSTED_ON", "IN_NETWORK", "HAS_MEMBER", "RUNS_ON", "DEPENDS_ON",
             "CONNECTS_TO", "ATTACHED_TO", "HAS_ADDRESS", "MEMBER_OF", "USES", "SEEN_BEHIND"]
    t = {name: i for i, name in enumerate(types)}
    parts: list[tuple[np.ndarray, np.ndarray, int, int]] = []  # src, dst, type, method

    def add(src: np.ndarray, dst: np.ndarray, rel: str, method: int = 0) -> None:
        parts.append((src.astype(np.int64), dst.astype(np.int64), t[rel], method))

    racks = ids("rack")
    add(racks, pick("location", len(racks)), "LOCATED_IN")
    servers, server_rack = block("physical_server", "rack")
    add(server_rack, servers, "CONTAINS")
    switches, switch_rack = block("switch", "rack")
    add(switch_rack, switches, "CONTAINS")
    vms, vm_server = block("virtual_machine", "physical_server")
    add(vms, vm_server, "HOSTED_ON")
    add(vms, pick("subnet", len(vms)), "IN_NETWORK")
    # Cluster members spread over hosts (anti-affinity): a random cluster per VM.
    add(pick("cluster", len(vms)), vms, "HAS_MEMBER")
    procs, proc_vm = block("software_instance", "virtual_machine")
    add(procs, proc_vm, "RUNS_ON")
    dbs = ids("database")
    add(dbs, pick("virtual_machine", len(dbs)), "RUNS_ON")
    apps = ids("application")
    clo, chi = ranges["cluster"]
    add(apps, clo + (apps - apps[0]) % (chi - clo), "RUNS_ON")
    add(np.repeat(apps, 5), pick("software_instance", 5 * len(apps)), "DEPENDS_ON")
    add(apps, pick("database", len(apps)), "DEPENDS_ON")
    bss = ids("business_service")
    add(np.repeat(bss, 5), pick("application", 5 * len(bss)), "DEPENDS_ON")
    ifaces = ids("interface")
    seen_ips = np.empty(0, np.int64)
    if plan is None:
        n_server_if = int(len(ifaces) * 0.8)
        server_if, switch_if = ifaces[:n_server_if], ifaces[n_server_if:]
        slo, shi = ranges["physical_server"]
        add(slo + (server_if - server_if[0]) * (shi - slo) // len(server_if), server_if, "CONTAINS")
        wlo, whi = ranges["switch"]
        add(wlo + (switch_if - switch_if[0]) * (whi - wlo) // len(switch_if), switch_if, "CONTAINS")
        cabled = server_if[: len(server_if) // 3]
        add(cabled, rng.choice(switch_if, len(cabled)), "CONNECTS_TO")
    else:
        # Network devices are numbered routers first (the router range), then switches: contiguous.
        dev0 = ranges["router"][0]
        la, lb = plan["la"] + dev0, plan["lb"] + dev0
        pa, pb = ifaces[0 : 2 * len(la) : 2], ifaces[1 : 2 * len(la) : 2]
        add(la, pa, "CONTAINS")
        add(lb, pb, "CONTAINS")
        add(pa, pb, "CONNECTS_TO")
        add(la, lb, "CONNECTS_TO")
        sw = plan["host_sw"] + dev0
        host = plan["host"] + ranges["physical_server"][0]
        port = ifaces[2 * len(la) :: 2][: len(sw)]
        nic = ifaces[2 * len(la) + 1 :: 2][: len(sw)]
        add(sw, port, "CONTAINS")
        add(host, nic, "CONTAINS")
        lldp = plan["lldp"]
        add(port[lldp], nic[lldp], "CONNECTS_TO")
        add(sw[lldp], host[lldp], "CONNECTS_TO")
        seen_ips = ids("ip_address")[: int((~lldp).sum())]
        add(nic[~lldp], seen_ips, "HAS_ADDRESS")
        add(port[~lldp], seen_ips, "SEEN_BEHIND", method=2)
    vols = ids("volume")
    add(vols, pick("virtual_machine", len(vols)), "ATTACHED_TO")
    # Process-to-process dependencies: 10% of processes are servers; clients use nearby servers.
    plo, phi = ranges["software_instance"]
    n_proc = phi - plo
    servers_p = plo + np.sort(rng.choice(n_proc, n_proc // 10, replace=False))
    n_declared = int(0.06 * n_rels)
    used = sum(len(p[0]) for p in parts)
    n_traffic = int(0.30 * n_rels)

    def client_server(count: int) -> tuple[np.ndarray, np.ndarray]:
        clients = rng.integers(plo, phi, count)
        near = np.searchsorted(servers_p, clients) + rng.integers(-20, 20, count)
        return clients, servers_p[np.clip(near, 0, len(servers_p) - 1)]

    add(*client_server(n_declared), "DEPENDS_ON")
    add(*client_server(n_traffic), "DEPENDS_ON", method=1)
    used += n_declared + n_traffic
    ips = ids("ip_address")[len(seen_ips):]
    add(rng.choice(ifaces, len(ips)), ips, "HAS_ADDRESS")
    used += len(ips) + len(seen_ips)
    rest = max(0, n_rels - used)
    members = rng.integers(ranges["virtual_machine"][0], ranges["software_instance"][1], rest // 2)
    add(members, pick("security_group", len(members)), "MEMBER_OF")
    add(pick("software_instance", rest - rest // 2), pick("security_group", rest - rest // 2), "USES")

    src = np.concatenate([p[0] for p in parts]).astype(np.int32)
    dst = np.concatenate([p[1] for p in parts]).astype(np.int32)
    etype = np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in parts])
    method = np.concatenate([np.full(len(p[0]), p[3], np.int8) for p in parts])
    conf = np.where(method == 1, rng.uniform(0.3, 1.0, len(src)), 1.0).astype(np.float32)
    conf[method == 2] = 0.9  # FDB evidence
    active = rng.random(len(src)) >= 0.02  # 2% stale or retired
    active[method == 2] = True
    min_up: dict[int, str] = {}
    for c in ids("cluster").tolist():
        roll = rng.random()
        if roll < 0.3:
            min_up[c] = "2"
        elif roll < 0.4:
            min_up[c] = "66%"
    owners = {int(i): f"team-{int(i) % 97}" for i in np.concatenate([apps, bss]).tolist()}
    cores = None if plan is None else plan["cores"] + ranges["router"][0]
    return Estate(classes, ranges, min_up, owners, src, dst, types, etype, method, conf, active, cores)


def uid(i: int) -> str:
    return f"ci{i:07d}"


def node_rows(e: Estate, uids: list[str]) -> Iterator[NodeRow]:
    for i, cls in enumerate(e.classes):
        yield NodeRow(uids[i], cls, "active", f"{cls}-{i}", e.min_up.get(i), e.owners.get(i))


def edge_rows(e: Estate, uids: list[str], batch: int = 50_000) -> Iterator[EdgeRow]:
    methods = ("declared", "traffic", "traffic")
    for lo in range(0, len(e.src), batch):
        hi = lo + batch
        for s, d, t, m, c, a in zip(e.src[lo:hi].tolist(), e.dst[lo:hi].tolist(), e.etype[lo:hi].tolist(),
                                    e.method[lo:hi].tolist(), e.conf[lo:hi].tolist(), e.active[lo:hi].tolist(),
                                    strict=True):
            yield EdgeRow(uids[s], e.types[t], uids[d], methods[m], c, "active" if a else "stale")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return f"p50 {q(0.50):.2f}, p95 {q(0.95):.2f}, p99 {q(0.99):.2f}, max {ordered[-1]:.2f} ms"


class Stopwatch:
    """Wall-clock and this thread's CPU time: on a shared, loaded machine the CPU time is
    what the work costs; the wall clock adds the time spent waiting for a core."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Stopwatch:
        self._w, self._c = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append((time.perf_counter() - self._w) * 1000)
        self.cpu.append((time.thread_time() - self._c) * 1000)

    def report(self) -> str:
        return f"wall {percentiles(self.wall)}; CPU {percentiles(self.cpu)}"


def timed_impacts(service: ImpactService, starts: list[str], depth: int) -> tuple[Stopwatch, list[int], int]:
    watch = Stopwatch()
    sizes: list[int] = []
    truncated = 0
    for s in starts:
        with watch:
            report = service.impact(ImpactRequest((s,), max_depth=depth))
        sizes.append(len(report.impacted))
        truncated += report.truncated
    return watch, sizes, truncated


def network_queries(service: ImpactService, estate: Estate, uids: list[str], queries: int,
                    rng: np.random.Generator) -> None:
    """Impact of a random network device and of a core switch (depth 6, 10k node budget)."""
    topo = service._index.view()
    watch = Stopwatch()
    if hasattr(topo, "network"):
        with watch:
            net = topo.network()
        size = 0 if net is None else net.size
        print(f"network graph (first query builds it once per view): {size:,} attached CIs, "
              f"{0 if net is None else len(net.la):,} links; wall {watch.wall[0]:.0f} ms, CPU {watch.cpu[0]:.0f} ms")
    lo, hi = estate.ranges["router"][0], estate.ranges["switch"][1]
    assert estate.cores is not None
    for label, pool in (("random network devices", np.arange(lo, hi)), ("core switches", estate.cores)):
        starts = [uids[i] for i in rng.choice(pool, queries).tolist()]
        service.impact(ImpactRequest((starts[0],)))  # warm up
        watch, sizes, truncated = timed_impacts(service, starts, 6)
        print(f"network-aware impact from {len(starts)} {label}, depth 6: {watch.report()}; "
              f"impacted CIs mean {statistics.mean(sizes):.0f}, max {max(sizes)}; {truncated} truncated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cis", type=int, default=1_000_000)
    parser.add_argument("--rels", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--network-devices", type=int, default=0,
                        help="replace the switch/interface layers by a three-tier network of this many devices")
    parser.add_argument("--network-only", action="store_true",
                        help="after the build, time the network questions only")
    parser.add_argument("--gc-freeze", action="store_true",
                        help="gc.freeze() after the build, as a server would after loading the index at start")
    args = parser.parse_args()
    schema = load_schema()

    t0 = time.perf_counter()
    estate = generate(args.cis, args.rels, args.seed, args.network_devices)
    uids = [uid(i) for i in range(args.cis)]
    gen_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in node_rows(estate, uids):
        pass
    for _ in edge_rows(estate, uids):
        pass
    rows_s, rows_cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    rss0 = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    index = TopologyIndex.from_rows(node_rows(estate, uids), edge_rows(estate, uids), schema)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    rss1 = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.gc_freeze:
        # Full collections would otherwise walk the million-entry lists of the index again and again.
        gc.freeze()
    topo = index.view()
    stats = index.stats
    assert stats is not None
    print(f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"estate: {args.cis:,} CIs, {len(estate.src):,} relationships "
          f"({stats.relationships_indexed:,} active and propagating), generated in {gen_s:.1f} s")
    print(f"index build (rows -> CSR): wall {build_s:.1f} s, CPU {build_cpu:.1f} s; of which producing the row "
          f"tuples alone (the store's iter_nodes/iter_edges share) wall {rows_s:.1f} s, CPU {rows_cpu:.1f} s; "
          f"propagation edges {topo.n_edges:,}")
    print(f"load average at build end: {os.getloadavg()}; gc.freeze() after the build: {args.gc_freeze}")
    print(f"index memory: numpy arrays {topo.nbytes() / 2**20:.0f} MiB; RSS growth over the build "
          f"{rss1 - rss0:.0f} MiB (includes the uid dict and name lists; uid strings are shared with the "
          f"generator); process peak RSS {peak:.0f} MiB")

    service = ImpactService(index, schema)
    rng = np.random.default_rng(args.seed + 1)
    if args.network_devices:
        network_queries(service, estate, uids, args.queries, rng)
        if args.network_only:
            return
    random_starts = [uids[i] for i in rng.integers(0, args.cis, args.queries).tolist()]
    infra = np.concatenate([np.arange(*estate.ranges[c]) for c in ("rack", "physical_server", "switch", "subnet",
                                                                    "virtual_machine", "cluster")])
    infra_starts = [uids[i] for i in rng.choice(infra, args.queries).tolist()]
    service.impact(ImpactRequest((random_starts[0],)))  # warm up
    for label, starts in (("random CIs", random_starts), ("infrastructure CIs", infra_starts)):
        for depth in (6, 10):
            watch, sizes, truncated = timed_impacts(service, starts, depth)
            print(f"impact from {len(starts)} {label}, depth {depth}: {watch.report()}; "
                  f"impacted CIs mean {statistics.mean(sizes):.0f}, max {max(sizes)}; "
                  f"{truncated} hit the 10k node budget or depth")

    watch = Stopwatch()
    slo, shi = estate.ranges["business_service"]
    dep_sizes = []
    for i in rng.integers(slo, shi, min(args.queries, 200)).tolist():
        with watch:
            deps = service.dependencies(DependencyRequest(uids[i], max_depth=6))
        dep_sizes.append(len(deps.dependencies))
    print(f"dependencies of {len(watch.wall)} business services, depth 6: {watch.report()}; "
          f"dependencies mean {statistics.mean(dep_sizes):.0f}, max {max(dep_sizes)}")
    watch = Stopwatch()
    for i in rng.integers(slo, shi, 20).tolist():
        with watch:
            service.single_points_of_failure(uids[i], max_depth=6)
    print(f"single points of failure of 20 business services, depth 6 (2,000 dependencies examined at most): "
          f"{watch.report()}")

    # Keeping current: batches as the ingest path would hand them over.
    evidence = RelEvidence(["bench"], 0, 0, 1, "declared", 1.0)
    vlo, vhi = estate.ranges["virtual_machine"]
    watch = Stopwatch()
    for b in range(20):
        cis = [CI(uid=f"new{b}-{j}", ci_class="software_instance", attributes={"name": f"new{b}-{j}"})
               for j in range(1000)]
        rels = [Relationship(rel_uid(c.uid, "RUNS_ON", uids[v]), "RUNS_ON", c.uid, uids[v], {}, evidence)
                for c, v in zip(cis, rng.integers(vlo, vhi, 1000).tolist(), strict=True)]
        rels += [Relationship(rel_uid(c.uid, "DEPENDS_ON", uids[v]), "DEPENDS_ON", c.uid, uids[v], {}, evidence,
                              Lifecycle.ACTIVE) for c, v in zip(cis, rng.integers(0, args.cis, 1000).tolist(), strict=True)]
        with watch:
            index.apply(ChangeSet(cis=cis, relationships=rels))
    print(f"apply 20 change sets of 1000 CIs + 2000 relationships: {watch.report()} "
          f"(overlay now {index.view().overlay.size():,} entries)")
    watch = Stopwatch()
    with watch:
        index.compact()
    print(f"compaction into fresh CSR: wall {watch.wall[0] / 1000:.1f} s, CPU {watch.cpu[0] / 1000:.1f} s")
    watch, _, _ = timed_impacts(service, random_starts[:200], 6)
    print(f"impact after apply+compaction, 200 random CIs, depth 6: {watch.report()}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
