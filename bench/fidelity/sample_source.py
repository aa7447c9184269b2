"""The fourth source: the asset register, exported as JSON lines and read as ``cmdb ingest`` reads them.

People keep it: servers and VMs by the FQDN someone typed (some with a trailing
dot, some in capitals, a few missing), with owner and environment, and the
company's DNS zones by name and visibility. Each line goes through
``cmdb.observation.parse_item``, the parser of ``cmdb ingest``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bench.fidelity.truth import Estate
from bench.fidelity.units import Index, Run
from cmdb.observation import parse_item

SOURCE, SCOPE = "sample", "asset-register"


def lines(estate: Estate, rnd: int) -> list[tuple[str, Index]]:
    out = []
    for host in estate.live_hosts():
        if host.register_fqdn is None or host.ssh_from > rnd:
            continue
        index = Index()
        index.add("device", None, host.tid, host.register_fqdn)
        cls = "physical_server" if host.kind == "server" else "virtual_machine"
        out.append((json.dumps({
            "kind": "ci", "source": SOURCE, "scope": SCOPE, "class": cls,
            "identifiers": {"fqdn": host.register_fqdn},
            "attributes": {"owner": f"team-{host.short[-2:]}", "environment": "production"},
        }), index))
    for zone in estate.zones.values():
        if zone.name != "corp.example.com.":  # the register lists the split-horizon pair only
            continue
        index = Index()
        index.add("zone", None, zone.tid, zone.name)
        out.append((json.dumps({
            "kind": "ci", "source": SOURCE, "scope": SCOPE, "class": "dns_zone",
            "identifiers": {"zone_name": zone.name, "private": zone.private},
            "attributes": {"description": f"{'internal' if zone.private else 'public'} view of corp.example.com",
                           "owner": "dns-team"},
        }), index))
    return out


def runs(estate: Estate, rnd: int, clock: Callable[[], int]) -> list[Run]:
    """This round's runs; ``clock`` gives each scope its observation time, as the scanner's now_ms() does."""
    run = Run(SOURCE, SCOPE)
    observed_at = clock()
    for line, index in lines(estate, rnd):
        raw = json.loads(line)
        raw["observed_at"] = observed_at
        run.add([parse_item(raw)], index)
    return [run]
