"""Aging: unseen in N consecutive complete runs -> stale, then retired; incomplete runs age nothing."""

from __future__ import annotations

from cmdb.model import Action, Lifecycle, RunStatus
from cmdb.observation import Item, Method
from tests.builders import T0, Harness, obs, ref, rel

A, B = obs("host", {"instance_id": "i-a"}), obs("host", {"instance_id": "i-b"})


def statuses(h: Harness) -> dict[str, Lifecycle]:
    return {c.attributes["instance_id"]: c.status for c in h.all_cis()}


def test_unseen_items_go_stale_after_two_complete_runs_and_retired_after_four(harness: Harness) -> None:
    harness.run([A, B])
    expected = [Lifecycle.ACTIVE, Lifecycle.STALE, Lifecycle.STALE, Lifecycle.RETIRED]
    for missed, status in enumerate(expected, start=1):
        run, _ = harness.run([A])
        assert statuses(harness) == {"i-a": Lifecycle.ACTIVE, "i-b": status}, f"after {missed} missed runs"
    b = harness.find("host", instance_id="i-b")
    assert [(e.action, e.changes) for e in harness.store.history(b.uid)][1:] == [
        (Action.STALE, {"status": ["active", "stale"]}), (Action.RETIRE, {"status": ["stale", "retired"]})]
    assert (run.counts["stale"], run.counts["retired"]) == (0, 1)


def test_an_incomplete_run_ages_nothing(harness: Harness) -> None:
    harness.run([A, B])
    for _ in range(6):
        run, _ = harness.run([A], complete=False)
        assert run.status is RunStatus.INCOMPLETE
    assert statuses(harness) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}
    # The misses of incomplete runs never count later either.
    harness.run([A])
    assert statuses(harness) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}


def test_a_ci_another_scope_still_sees_does_not_age(harness: Harness) -> None:
    harness.run([A, B])
    harness.run([obs("host", {"machine_id": "m-b"}, {"instance_id": "i-b"}, source="ssh", scope="lab")],
                source="ssh", scope="lab")
    for missed in range(1, 6):
        # Checked right after the run that missed it, before the lab's run sees it again:
        # i-b ages by its smallest missed count (0, in the lab's scope), never by the largest.
        harness.run([A])
        assert statuses(harness) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}, f"after {missed} missed runs"
        assert [e.action for e in harness.store.history(harness.find("host", instance_id="i-b").uid)
                if e.action is not Action.UPDATE] == [Action.CREATE]
        harness.run([obs("host", {"machine_id": "m-b"}, source="ssh", scope="lab")], source="ssh", scope="lab")
    assert statuses(harness) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}
    # Another scope of the same source ages only its own sightings.
    for _ in range(4):
        harness.run([], scope="s2")
    assert statuses(harness) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}


def test_a_retired_ci_seen_again_is_reactivated_with_its_history(harness: Harness) -> None:
    harness.run([A, B])
    for _ in range(4):
        harness.run([A])
    assert statuses(harness)["i-b"] is Lifecycle.RETIRED
    harness.run([A, B])
    b = harness.find("host", instance_id="i-b")
    assert b.status is Lifecycle.ACTIVE
    assert [e.action for e in harness.store.history(b.uid)] == [
        Action.CREATE, Action.STALE, Action.RETIRE, Action.REACTIVATE]


def test_relationships_age_by_the_same_rules(harness: Harness) -> None:
    subnet = obs("subnet", {"subnet_id": "s-1"})
    link = rel("IN_NETWORK", ref("host", instance_id="i-a"), ref("subnet", subnet_id="s-1"))
    harness.run([A, subnet, link])
    for _ in range(2):
        harness.run([A, subnet])
    assert [r.status for r in harness.all_rels()] == [Lifecycle.STALE]
    assert {c.status for c in harness.all_cis()} == {Lifecycle.ACTIVE}


def test_evidence_accumulates_per_run_and_traffic_confidence_grows(harness: Harness) -> None:
    a = obs("software_instance", {"product": "app", "port": 8080}, parent=ref("host", instance_id="i-a"))
    b = obs("software_instance", {"product": "postgres", "port": 5432}, parent=ref("host", instance_id="i-b"))
    dep = rel("DEPENDS_ON", ref("software_instance", parent=ref("host", instance_id="i-a"), product="app", port=8080),
              ref("software_instance", parent=ref("host", instance_id="i-b"), product="postgres", port=5432),
              method=Method.TRAFFIC, confidence=0.5)
    items: list[Item] = [A, B, a, b, dep]
    harness.run(items)
    edge = next(r for r in harness.all_rels() if r.type == "DEPENDS_ON")
    assert (edge.evidence.times_seen, edge.evidence.confidence, edge.evidence.method) == (1, 0.5, "traffic")
    # The same batch again in the same run changes nothing.
    with harness.ingestor.run("aws", "s1") as run:
        run.ingest(items)
        run.ingest(items)
    edge = next(r for r in harness.all_rels() if r.type == "DEPENDS_ON")
    assert (edge.evidence.times_seen, edge.evidence.confidence) == (2, 0.75)
    harness.clock.advance(1000)
    harness.run(items)
    edge = next(r for r in harness.all_rels() if r.type == "DEPENDS_ON")
    assert (edge.evidence.times_seen, edge.evidence.confidence, edge.evidence.sources) == (3, 0.875, ["aws"])
    assert (edge.evidence.first_seen, edge.evidence.last_seen) == (T0, T0)
    # A declared sighting makes it declared and keeps the highest confidence.
    harness.run([obs("host", {"machine_id": "x"}, {"instance_id": "i-a"}, source="ssh"),
                 rel("DEPENDS_ON", dep.from_ci, dep.to_ci, source="ssh", method=Method.DECLARED, confidence=0.9)],
                source="ssh")
    edge = next(r for r in harness.all_rels() if r.type == "DEPENDS_ON")
    assert (edge.evidence.times_seen, edge.evidence.method, edge.evidence.sources) == (4, "declared", ["aws", "ssh"])
    assert edge.evidence.confidence == 0.9


def test_a_class_ttl_makes_an_unseen_ci_stale_before_the_run_count_does(tmp_path: object) -> None:
    from importlib import resources
    from pathlib import Path

    import yaml

    from schema import build_schema

    document = yaml.safe_load(resources.files("schema").joinpath("catalog.yaml").read_text())
    # Counting runs alone, b would go stale only at its third missed run.
    document["classes"]["host"]["aging"] = {"ttl_days": 1, "stale_after_runs": 3, "retire_after_runs": 5}
    h = Harness(Path(str(tmp_path)) / "ttl.sqlite", schema=build_schema(document))
    h.run([A, B])
    h.run([A])  # first missed run, within the TTL: still active
    assert statuses(h) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}
    h.clock.advance(2 * 86_400_000)
    h.run([A])  # second missed run, two days since b was last seen: past the TTL
    assert statuses(h) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.STALE}
    h.store.close()
