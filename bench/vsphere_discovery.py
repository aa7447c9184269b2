"""Benchmark: vSphere discovery of a simulated 500-host / 5,000-VM vCenter (govmomi's vcsim).

Starts its own vcsim on 127.0.0.1 (stopped by PID) with 25 clusters of 20 hosts and 200
VMs in each cluster's pool, then measures, alternating, ``--repeat`` times each:
  bare    a bare property-collector sweep of the same objects: one session, one ContainerView
          per datacenter, the same property specs and page size, RetrievePropertiesEx /
          ContinueRetrievePropertiesEx until the last page, nothing done with the results
  scan    the scanner: login, the same sweep, plain records, the transform to Observations
and once each:
  whole   the scan plus ingest into a fresh SQLite store (first discovery)
  again   a second identical discovery (zero changes)
and prints the medians; the target is scan <= 1.5 x bare.

Usage: PYTHONPATH=. .venv/bin/python bench/vsphere_discovery.py [--clusters 25 --hosts 20 --vms 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from cmdb.ingest import Ingestor
from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.runner import ingest_scope
from discovery.vsphere.client import _VIEW_TYPES, _VIM_TYPES, OBJECT_PROPERTIES, ConnectSettings
from discovery.vsphere.scanner import VsphereScanConfig, VsphereScanner
from labs.vcsim import Inventory, Vcsim, running_vcsim
from schema import load_schema

_PC = vmodl.query.PropertyCollector


def bare_sweep(sim: Vcsim, page_size: int) -> int:
    """Objects read by the plainest sweep pyvmomi allows of the same properties; returns the count."""
    host, _, port = sim.server.rpartition(":")
    si = SmartConnect(host=host, port=int(port), user=sim.user, pwd=sim.password, disableSslCertValidation=True)
    try:
        content = si.RetrieveContent()
        pc = content.propertyCollector
        specs = [_PC.PropertySpec(type=_VIM_TYPES[t], pathSet=list(paths)) for t, paths in OBJECT_PROPERTIES.items()]
        dcs = content.viewManager.CreateContainerView(content.rootFolder, [vim.Datacenter], True)
        count = 0
        for dc in dcs.view:
            view = content.viewManager.CreateContainerView(dc, [_VIM_TYPES[t] for t in _VIEW_TYPES], True)
            spec = _PC.FilterSpec(objectSet=[_PC.ObjectSpec(obj=view, skip=True, selectSet=[
                _PC.TraversalSpec(name="view", type=vim.view.ContainerView, path="view", skip=False)])],
                propSet=specs)
            result = pc.RetrievePropertiesEx([spec], _PC.RetrieveOptions(maxObjects=page_size))
            while result is not None:
                count += len(result.objects)
                result = pc.ContinueRetrievePropertiesEx(result.token) if result.token else None
            view.DestroyView()
        dcs.DestroyView()
        return count
    finally:
        Disconnect(si)


def scanner(sim: Vcsim, page_size: int) -> VsphereScanner:
    return VsphereScanner(VsphereScanConfig(ConnectSettings(sim.server, sim.user, sim.password, verify=False,
                                                            page_size=page_size)))


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=25)
    parser.add_argument("--hosts", type=int, default=20, help="hosts per cluster")
    parser.add_argument("--vms", type=int, default=200, help="VMs per cluster")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inventory = Inventory(datacenters=1, clusters=args.clusters, hosts=args.hosts, standalone_hosts=0, vms=args.vms,
                          datastores=4, portgroups=8)
    print(f"machine: {platform.node()} {platform.machine()} {platform.python_implementation()} "
          f"{platform.python_version()}; inventory: {args.clusters * args.hosts} hosts, "
          f"{args.clusters * args.vms} VMs; page size {args.page_size}")
    started = time.perf_counter()
    with running_vcsim(inventory, start_timeout=600) as sim:
        print(f"vcsim up in {time.perf_counter() - started:.1f} s")
        bare_sweep(sim, args.page_size)  # warm both sides' caches once
        bare: list[float] = []
        scan: list[float] = []
        objects = items = 0
        for _ in range(args.repeat):
            seconds, objects = timed(lambda: bare_sweep(sim, args.page_size))
            bare.append(seconds)
            seconds, result = timed(lambda: scanner(sim, args.page_size).scan_sync())
            scan.append(seconds)
            assert result.complete, result.errors
            items = len(result.items)
        with tempfile.TemporaryDirectory() as tmp:
            schema = load_schema()
            store = SQLiteStore(Path(tmp) / "bench.sqlite", schema)
            try:
                ingestor = Ingestor(store, schema)
                runs = []
                for _ in ("whole", "again"):
                    seconds, run = timed(lambda: ingest_scope(
                        ingestor, "vsphere", scanner(sim, args.page_size).scan_sync())[0])
                    assert run.status is RunStatus.COMPLETE, run.errors
                    runs.append((seconds, run))
            finally:
                store.close()
    b, s = statistics.median(bare), statistics.median(scan)
    print(f"objects {objects}, items {items}")
    print(f"bare sweep  median {b:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in bare)})")
    print(f"scan        median {s:6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in scan)})  = {s / b:.2f} x bare")
    (w, first), (a, second) = runs
    print(f"whole (scan + ingest, first)  {w:6.2f} s  created {first.counts.get('created', 0)}, "
          f"relationships {first.counts.get('relationships_created', 0)}")
    print(f"again (scan + ingest, same)   {a:6.2f} s  unchanged {second.counts.get('unchanged', 0)}")
    print(f"target scan <= 1.5 x bare: {'met' if s <= 1.5 * b else 'NOT met'}")


if __name__ == "__main__":
    main()
