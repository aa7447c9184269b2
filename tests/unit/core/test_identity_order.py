"""The partition of observations into CIs does not depend on the order sources report in.

Overlapping sources, with the identifiers the real scanners send (the SSH scanner's
transform on recorded hosts, the SNMP scanner's neighbour identifiers, AWS instances,
a hand-made record), run in every order hypothesis draws; each ends with the same
grouping of observations into CIs.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb.identify import keys_for
from cmdb.ingest import ref_values
from cmdb.model import Lifecycle
from cmdb.observation import Observation
from discovery.snmp.values import name_identifiers
from discovery.ssh.observations import host_items
from tests.builders import Harness, obs
from tests.unit.discovery.ssh.ssh_recordings import context, lab_facts

Run = tuple[str, str, list[Any]]


def _runs() -> list[Run]:
    db1 = dataclasses.replace(lab_facts("db1"), instance_id="i-0db1")
    app1 = dataclasses.replace(lab_facts("app1"), hostname="web1", fqdn="web1.b.example")
    mon1 = dataclasses.replace(lab_facts("mon1"), hostname="web1", fqdn="web1.a.example")
    neighbour = {"chassis_id": "52:54:00:00:00:01", **name_identifiers("db1.lab.test")}
    return [
        ("aws", "111/eu-west-1", [obs("cloud_instance", {"instance_id": "i-0db1"}, {"name": "db1-ec2"},
                                      scope="111/eu-west-1"),
                                  obs("cloud_instance", {"instance_id": "i-0other"}, {"name": "other"},
                                      scope="111/eu-west-1")]),
        ("ssh", "lab/db1", host_items(db1, context("db1"))),
        ("ssh", "lab/app1", host_items(app1, context("app1"))),
        ("ssh", "lab/mon1", host_items(mon1, context("mon1"))),
        ("snmp", "seeds", [obs("network_device", neighbour, {"name": "db1.lab.test"}, source="snmp",
                               scope="seeds").model_copy(update={"hearsay": True}),
                           obs("host", name_identifiers("web1.b.example"), {"uptime_s": 5}, source="snmp",
                               scope="seeds"),
                           obs("host", name_identifiers("WEB1.a.example."), {"uptime_s": 6}, source="snmp",
                               scope="seeds")]),
        ("manual", "hand", [obs("host", {"fqdn": "db1.lab.test"}, {"owner": "dba"}, source="manual", scope="hand")]),
    ]


RUNS = _runs()
TOP_LEVEL = [(i, j, item) for i, (_, _, items) in enumerate(RUNS) for j, item in enumerate(items)
             if isinstance(item, Observation) and item.parent is None]


def partition(order: list[int]) -> set[frozenset[tuple[int, int]]]:
    """Which top-level observations ended in one CI, after the runs in ``order``."""
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp) / "x.sqlite")
        for index in order:
            source, scope, items = RUNS[index]
            _, report = h.run(items, source=source, scope=scope)
            assert report.rejected == []
        active = {c.uid for c in h.all_cis() if c.status is Lifecycle.ACTIVE}
        groups: dict[str, set[tuple[int, int]]] = {}
        for i, j, item in TOP_LEVEL:
            cls = h.schema.cls(item.ci_class)
            values = ref_values(h.schema, cls, item.model_copy(update={"identifiers": {**item.attributes,
                                                                                      **item.identifiers}}).ref())
            keys = keys_for(cls, values, None)
            found = h.store.find_keys(keys)
            # Its strongest identifier held by an active CI names the CI it ended in.
            holders = next({u for u in found[k] if u in active} for k in keys if k in found)
            assert len(holders) == 1, (item.ci_class, item.identifiers, holders)
            groups.setdefault(holders.pop(), set()).add((i, j))
        h.store.close()
    return {frozenset(g) for g in groups.values()}


EXPECTED = partition(list(range(len(RUNS))))


def test_the_expected_grouping() -> None:
    def group_of(run: int, ci_class: str) -> frozenset[tuple[int, int]]:
        return next(g for g in EXPECTED if any(i == run and RUNS[i][2][j].ci_class == ci_class for i, j in g))
    # db1: AWS instance, its SSH scan, the LLDP neighbour and the hand-made record are one host.
    assert {(i, RUNS[i][2][j].ci_class) for i, j in group_of(1, "host")} == {
        (0, "cloud_instance"), (1, "host"), (4, "network_device"), (5, "host")}
    # The two web1 hosts of two domains stay two, each with its SNMP view.
    webs = [g for g in EXPECTED if any(i in (2, 3) and RUNS[i][2][j].ci_class == "host" for i, j in g)]
    assert sorted(sorted(i for i, _ in g) for g in webs) == [[2, 4], [3, 4]]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(list(range(len(RUNS)))))
def test_every_order_of_the_sources_runs_ends_with_the_same_partition(order: list[int]) -> None:
    assert partition(order) == EXPECTED
