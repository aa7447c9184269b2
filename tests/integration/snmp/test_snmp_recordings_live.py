"""The real-device recordings served by snmpsim and walked over the network give the same
devices and neighbours as parsing the files offline. Their neighbours' addresses (real,
third-party) are never contacted: no crawl range covers them, and only 127.0.0.1 is scanned."""

from __future__ import annotations

from typing import Any

import pytest

from cmdb.observation import Item, Observation, ObservedRelation
from discovery.snmp.build import BuildContext, forwarding_relations
from discovery.snmp.client import Endpoint
from discovery.snmp.links import link_relations
from tests.integration.snmp.agents import community
from tests.integration.snmp.scan import collect
from tests.unit.discovery.snmp.test_snmp_recordings import neighbours, parse

# One of the five live (its walk takes seconds in snmpsim; the lab covers LLDP and CDP live);
# all five are parsed offline in tests/unit/discovery/snmp/test_snmp_recordings.py.
NAMES = ["cisco-c3560"]


@pytest.mark.parametrize("name", NAMES)
def test_live_walk_matches_offline_parse(recordings_agent: Endpoint, name: str) -> None:
    targets = {"scope": "recordings", "port": recordings_agent.port,
               "targets": [{"seeds": [recordings_agent.host], "credentials": [name]}],
               "crawl": {"enabled": True, "ranges": ["127.0.0.0/8"], "credentials": [name]}}
    result, summary = collect(targets, {name: community(name)})
    offline = parse(name)
    assert [(o.address, o.status) for o in summary.outcomes] == [(str(recordings_agent), "ok")]
    assert result.complete, result.errors
    assert summary.stats()["neighbors"] == len({n.key for n in offline.neighbors})
    def devices(items: list[Item]) -> set[tuple[str, tuple[tuple[str, Any], ...]]]:
        return {(i.ci_class, tuple(sorted(i.identifiers.items()))) for i in items
                if isinstance(i, Observation) and i.ci_class not in ("interface", "ip_address", "subnet")}
    assert devices(result.items) == devices(offline.items)
    # same relationships, whatever the transport
    def rels(items: list[Item]) -> set[str]:
        return {i.model_dump_json(exclude={"observed_at", "scope"}) for i in items if isinstance(i, ObservedRelation)}
    ctx = BuildContext(scope="recordings", observed_at=1)
    scope_level = [*link_relations([offline], ctx)[0], *forwarding_relations([offline], ctx)]
    assert rels(result.items) == rels([*offline.items, *scope_level])
    assert neighbours(offline)  # every recording here has neighbours
