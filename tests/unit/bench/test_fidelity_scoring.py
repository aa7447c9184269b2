"""The fidelity harness's scorer, on hand-made cases whose right answer is known, and the harness at a tiny size.

The hand-made cases use identifiers no engine could read otherwise: two
observations of one thing with nothing in common must make two CIs (a duplicate),
two things sent with identical identifiers must share one CI (a merge). The
scorer must count exactly those.
"""

from __future__ import annotations

from pathlib import Path

from bench.fidelity.harness import Harness
from bench.fidelity.truth import Estate
from bench.fidelity.units import Index, Run
from cmdb.observation import CIRef, Observation, ObservedRelation


def _app(identifiers: dict[str, str], at: int, scope: str = "register") -> Observation:
    return Observation(source="sample", scope=scope, ci_class="application", identifiers=identifiers,
                       attributes={}, observed_at=at)


def _run(scope: str, rows: list[tuple[Observation | ObservedRelation, Index]]) -> Run:
    run = Run("sample", scope)
    for item, index in rows:
        run.add([item], index)
    return run


def _index(*pairs: tuple[str, str]) -> Index:
    index = Index()
    for tid, value in pairs:
        index.add("application", None, tid, value)
    return index


def test_scorer_counts_a_duplicate_a_merge_and_a_wrong_retirement_exactly(tmp_path: Path) -> None:
    estate = Estate(seed=1, scale=0.1)
    for tid in ("A", "B", "C", "D", "E", "F"):
        estate.thing("app", tid)
    harness = Harness(seed=1, estate=estate, path=tmp_path / "cmdb.sqlite")
    t = harness.tick
    a1, a2 = _app({"app_id": "A-1"}, t()), _app({"name": "alpha"}, t(), "other")  # one thing, nothing in common
    b, c = _app({"name": "shared"}, t(), "other"), _app({"name": "shared"}, t(), "other")  # two things, one identity
    d = _app({"app_id": "D-1"}, t())
    to_a = ObservedRelation(source="sample", scope="register", type="DEPENDS_ON", observed_at=t(),
                            from_ci=CIRef(ci_class="application", identifiers={"app_id": "D-1"}),
                            to_ci=CIRef(ci_class="application", identifiers={"app_id": "A-1"}))
    to_b = ObservedRelation(source="sample", scope="register", type="DEPENDS_ON", observed_at=t(),
                            from_ci=CIRef(ci_class="application", identifiers={"app_id": "D-1"}),
                            to_ci=CIRef(ci_class="application", identifiers={"name": "shared"}))
    register = _run("register", [
        (a1, _index(("A", "A-1"))), (d, _index(("D", "D-1"))),
        (to_a, _index(("A", "A-1"), ("D", "D-1"))), (to_b, _index(("B", "shared"), ("D", "D-1"))),
    ])
    other = _run("other", [(a2, _index(("A", "alpha"))), (b, _index(("B", "shared"))), (c, _index(("C", "shared")))])
    # E and F are seen once by their own scope, whose later complete runs no longer see them.
    e, f = _app({"app_id": "E-1"}, t(), "ef"), _app({"app_id": "F-1"}, t(), "ef")
    gone = _run("ef", [(e, _index(("E", "E-1"))), (f, _index(("F", "F-1")))])

    harness.begin(1)
    # "other" first: the relationship D -> "shared" needs that CI to exist.
    first = harness.land(1, [harness.execute(other), harness.execute(register), harness.execute(gone)])
    assert (first.things, first.cis) == (6, 6)  # A (twice), B+C (once), D, E, F
    assert (first.duplicates, first.unflagged, first.two_things) == (1, 1, 1)
    assert first.recall == 4 / 6  # A, D, E, F have a CI of their own; B and C do not
    assert first.precision == 4 / 6  # A's oldest CI, D, E, F; A's second CI and the B+C CI are wrong
    assert (first.rel_recall, first.rel_precision) == (1.0, 0.5)  # D->B lands on the B+C CI
    assert (first.wrong_retired, first.missed_retired, first.unmapped) == (0, 0, 0)
    assert {problem: tids for problem, tids in first.bad.items() if tids} == {
        "unflagged duplicate": {"A"}, "shares a CI": {"B", "C"}, "no CI of its own": {"B", "C"}}

    estate.round = 2
    estate.kill("F")  # F really ends; E goes on existing but its scope stops reporting it
    for rnd in range(2, 6):
        harness.begin(rnd)
        empty = Run("sample", "ef")
        score = harness.land(rnd, [harness.execute(other), harness.execute(register), harness.execute(empty)])
    # retire_after_runs is 4: both E's and F's CIs are retired now; only E's is a wrong retirement.
    assert score.wrong_retired == 1
    assert score.bad["wrongly retired"] == {"E"}
    assert score.missed_retired == 0
    assert score.things == 5
    harness.close()


def test_harness_at_a_tiny_size_maps_every_observation_and_scores_within_bounds(tmp_path: Path) -> None:
    harness = Harness(seed=3, scale=0.1, path=tmp_path / "cmdb.sqlite")
    scores = [harness.play(rnd) for rnd in (1, 2, 3)]
    harness.close()
    assert [s.unmapped for s in scores] == [0, 0, 0]  # the oracle knows what every observation denotes
    assert all(s.things > 150 for s in scores)
    for s in scores:
        for value in (s.recall, s.precision, s.rel_recall, s.rel_precision):
            assert 0.0 < value <= 1.0
    # Every source ran every round, in some order.
    assert all(sorted(order) == ["aws", "sample", "snmp", "ssh", "vsphere"] for order in harness.order)
    # What each scanner calls a thing is kept: an EC2 instance is denoted by the AWS and the SSH scanner.
    silent = set().union(*harness.estate.unreachable.values())
    ec2 = [h.tid for h in harness.estate.hosts.values()
           if h.kind == "ec2" and harness.estate.alive(h.tid, 3) and h.tid not in silent]
    assert ec2 and all({source for source, _, _ in harness.denotes[tid]} == {"aws", "ssh"} for tid in ec2)
    # A VM by the hypervisor inventory (its BIOS and instance UUIDs) and by SSH.
    vms = [h.tid for h in harness.estate.hosts.values()
           if h.kind == "vm" and harness.estate.alive(h.tid, 3) and h.tid not in silent]
    assert vms and all({"vsphere", "ssh"} <= {source for source, _, _ in harness.denotes[tid]} for tid in vms)
    assert all(("vsphere", "virtual_machine") in {(source, cls) for source, cls, _ in harness.denotes[tid]}
               for tid in vms)


def test_a_merged_ci_hands_its_things_to_the_ci_it_was_merged_into() -> None:
    from bench.fidelity.score import Ledger, follow_merges, score_round
    from cmdb.model import CI, Lifecycle

    keep = CI(uid="k", ci_class="application", attributes={}, created_at=1)
    gone = CI(uid="g", ci_class="application", attributes={}, created_at=2, status=Lifecycle.RETIRED,
              duplicate_of="k")
    ledger = Ledger()
    ledger.land("k", "A")
    ledger.land("g", "A")  # the same thing, merged: not a duplicate, not a retirement
    ledger.land("g", "B")  # and another thing that was in the absorbed CI: now the survivor holds two
    followed = follow_merges(ledger, {"k": keep, "g": gone})
    assert dict(followed.holds) == {"k": {"A", "B"}}
    score = score_round(1, ledger, {"k": keep, "g": gone}, [], {"A": True, "B": True}, {"A": None, "B": None}, {})
    assert (score.cis, score.duplicates, score.two_things, score.wrong_retired) == (1, 0, 1, 0)
    assert (score.recall, score.precision) == (0.0, 0.0)


def test_tied_observations_go_to_the_sighted_cis_nothing_else_explains() -> None:
    from bench.fidelity.landing import place

    # Two hosts named app05 in two domains; the run sighted both CIs: each got one observation.
    assert place([["east"], ["east", "west"]]) == ["east", "west"]
    assert place([["east", "west"], ["east", "west"]]) == ["east", "west"]
    assert place([["east", "west"], ["east"]]) == ["west", "east"]
    assert place([[], ["only"]]) == [None, "only"]


def test_the_truth_names_an_observation_only_when_all_its_values_agree() -> None:
    index = Index()
    index.add("device", None, "east", "web01", "machine-east")
    index.add("device", None, "west", "web01", "machine-west")
    index.add("interface", "west", "west-eth0", "eth0")

    def host(**ids: str) -> Observation:
        return Observation(source="ssh", scope="s", ci_class="host", identifiers=ids, observed_at=1)

    assert index.thing(host(machine_id="machine-west", sys_name="web01")) == "west"
    assert index.thing(host(sys_name="web01")) is None  # two things answer: the payload did not say which
    assert index.thing(host(machine_id="machine-east", sys_name="WEB01.")) == "east"  # the oracle's own normal form
    eth0 = Observation(source="ssh", scope="s", ci_class="interface", identifiers={"name": "eth0"}, observed_at=1,
                       parent=CIRef(ci_class="host", identifiers={"machine_id": "machine-west"}))
    assert index.thing(eth0) == "west-eth0"
