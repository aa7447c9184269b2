"""Reading back what a vSphere scan left in the store, in names a test can write down."""

from __future__ import annotations

from typing import Any

from discovery.runner import ingest_scope
from discovery.vsphere.client import ConnectSettings
from discovery.vsphere.scanner import VsphereScanConfig, VsphereScanner
from labs.vcsim import Vcsim
from tests.builders import Harness


def scanner(sim: Vcsim, *, password: str | None = None, verify: bool = False, page_size: int = 500) -> VsphereScanner:
    # verify=False: vcsim's certificate is self-signed; production keeps verification on.
    return VsphereScanner(VsphereScanConfig(ConnectSettings(
        server=sim.server, user=sim.user, password=sim.password if password is None else password,
        verify=verify, page_size=page_size)))


def scan(harness: Harness, sim: Vcsim, progress: Any = None, **kwargs: Any) -> Any:
    """One real scan of ``sim`` ingested as one run; returns the finished ScanRun."""
    result = scanner(sim, **kwargs).scan_sync(progress)
    run, _ = ingest_scope(harness.ingestor, "vsphere", result)
    return run


def labels(harness: Harness) -> dict[str, str]:
    """uid -> a readable, unique label: the name, prefixed by its datacenter when the name does not say it."""
    cis = {c.uid: c for c in harness.all_cis()}
    located = {r.source_uid: cis[r.target_uid].attributes["name"] for r in harness.all_rels()
               if r.type == "LOCATED_IN"}
    out = {}
    for uid, ci in cis.items():
        name = str(ci.attributes.get("name") or ci.attributes.get("address"))
        dc = located.get(uid)
        out[uid] = f"{dc}/{name}" if dc and not name.startswith(dc) else name
    return out


def ci_set(harness: Harness, status: str = "active") -> set[tuple[str, str]]:
    names = labels(harness)
    return {(names[c.uid], c.ci_class) for c in harness.all_cis() if c.status.value == status}


def rel_set(harness: Harness, status: str = "active") -> set[tuple[str, str, str]]:
    names = labels(harness)
    return {(r.type, names[r.source_uid], names[r.target_uid]) for r in harness.all_rels() if r.status.value == status}
