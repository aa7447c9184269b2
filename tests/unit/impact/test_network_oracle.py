"""The network layer against an independent oracle on random networks (hypothesis).

The oracle is written here from the definition, importing nothing of the engine:
remove the failed devices and the cables of failed ports, search from the routers
(hosts never forward), and count the shortest paths of the intact network that
survive. A CI the search does not reach is down; one it reaches with fewer shortest
paths than before is degraded; the rest are not impacted.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cmdb.impact import ImpactRequest
from tests.unit.impact.conftest_net import PATHS, service_on
from tests.unit.impact.net_graphs import Net

Cable = tuple[str, str, str, str]  # (device, port, device, port)


@st.composite
def networks(draw: st.DrawFn) -> tuple[list[str], list[str], list[str], list[Cable], list[str]]:
    n_routers = draw(st.integers(1, 2))
    n_switches = draw(st.integers(1, 9))
    n_hosts = draw(st.integers(0, 5))
    routers = [f"r{i}" for i in range(n_routers)]
    switches = [f"s{i}" for i in range(n_switches)]
    hosts = [f"h{i}" for i in range(n_hosts)]
    devices = routers + switches
    cables: list[Cable] = []
    # Each switch cabled to something before it (mostly a tree), then extra links, parallel ones (LAGs) included.
    for i, sw in enumerate(switches):
        peer = draw(st.sampled_from(devices[: n_routers + i]))
        cables.append((peer, f"c{len(cables)}", sw, f"c{len(cables)}"))
    for _ in range(draw(st.integers(0, 6))):
        a, b = draw(st.sampled_from(devices)), draw(st.sampled_from(devices))
        if a != b:
            cables.append((a, f"c{len(cables)}", b, f"c{len(cables)}"))
    for h in hosts:
        for sw in draw(st.lists(st.sampled_from(switches), min_size=1, max_size=2, unique=True)):
            cables.append((sw, f"c{len(cables)}", h, f"c{len(cables)}"))
    ports = [f"{a}/{pa}" for a, pa, _, _ in cables] + [f"{b}/{pb}" for _, _, b, pb in cables]
    failed = draw(st.lists(st.sampled_from(switches + routers + ports), min_size=1, max_size=3, unique=True))
    return routers, switches, hosts, cables, failed


def oracle(
    routers: list[str], hosts: list[str], cables: list[Cable], failed: set[str]
) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
    """(grade of every attached CI the failure impacts, (paths left, paths before) of each)."""
    adj: dict[str, list[tuple[int, str]]] = {}
    for k, (a, _, b, _) in enumerate(cables):
        adj.setdefault(a, []).append((k, b))
        adj.setdefault(b, []).append((k, a))
    forwards = {n for n in adj if n not in hosts}
    dead_cable = {k for k, (a, pa, b, pb) in enumerate(cables)
                  if a in failed or b in failed or f"{a}/{pa}" in failed or f"{b}/{pb}" in failed}

    def distances(alive_only: bool) -> dict[str, int]:
        dist = {r: 0 for r in routers if r in adj and not (alive_only and r in failed)}
        queue = deque(dist)
        while queue:
            u = queue.popleft()
            if u not in forwards and dist[u] > 0:
                continue
            for k, v in adj[u]:
                if alive_only and (k in dead_cable or v in failed):
                    continue
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        return dist

    before = distances(False)
    after = distances(True)
    order = sorted(before, key=before.__getitem__)
    total: dict[str, int] = {}
    left: dict[str, int] = {}
    for u in order:
        if before[u] == 0:
            total[u], left[u] = 1, 0 if u in failed else 1
            continue
        ups = [(k, v) for k, v in adj[u] if before.get(v) == before[u] - 1 and v in forwards]
        total[u] = sum(total[v] for _, v in ups)
        left[u] = 0 if u in failed else sum(left[v] for k, v in ups if k not in dead_cable)
    grades: dict[str, str] = {}
    for u in before:
        if u in failed:
            continue
        if u not in after:
            grades[u] = "down"
        elif left[u] < total[u]:
            grades[u] = "degraded"
    return grades, {u: (left[u], total[u]) for u in grades}


@pytest.mark.parametrize("path", PATHS)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=networks())
# A lost cable that is not on the far end's shortest paths (h0 reaches r0 via s0 in 2 hops, via s7 in 4).
@example(net=(["r0"], ["s0", "s1", "s7"], ["h0"], [
    ("r0", "c0", "s0", "c0"), ("s0", "c1", "s1", "c1"), ("s1", "c7", "s7", "c7"), ("s7", "c9", "h0", "c9"),
    ("s0", "c10", "h0", "c10")], ["s7/c9"]))
def test_grades_match_the_oracle(
    path: str, net: tuple[list[str], list[str], list[str], list[Cable], list[str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    routers, switches, hosts, cables, failed = net
    g = Net()
    for r in routers:
        g.device(r, "router")
    for s in switches:
        g.device(s)
    for h in hosts:
        g.ci(h, "physical_server")
    host_set = set(hosts)
    for a, pa, b, pb in cables:
        if b in host_set:  # a host is seen behind the switch port (FDB), its NIC holding the address
            g.seen_behind(a, pa, b, pb)
        else:
            g.cable(a, pa, b, pb)
    expected, counts = oracle(routers, hosts, cables, set(failed))
    report = service_on(path, g, monkeypatch).impact(ImpactRequest(tuple(failed), max_nodes=100_000))
    attached = set(routers) | set(switches) | host_set
    got = {ci.uid: ci.grade.value for ci in report.impacted if ci.uid in attached and ci.uid not in failed}
    assert got == expected
    for ci in report.impacted:
        # Every explanation starts at a failed CI (never at a CI the failure cut off).
        assert ci.path[0].uid in failed, (ci.uid, [s.uid for s in ci.path])
        if ci.uid in expected:
            assert ci.network is not None
            assert (ci.network.paths_left, ci.network.paths_total) == counts[ci.uid]
            assert ci.depth == len(ci.path) - 1
