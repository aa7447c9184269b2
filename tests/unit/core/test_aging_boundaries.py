"""Aging at its edges: the class TTL to the millisecond, and paging through candidates."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from cmdb.model import Lifecycle
from cmdb.observation import Item
from schema import build_schema
from tests.builders import Harness, obs

DAY = 86_400_000


def _hosts(names: list[str]) -> list[Item]:
    return [obs("host", {"instance_id": n}) for n in names]


def _statuses(h: Harness) -> dict[str, Lifecycle]:
    return {c.attributes["instance_id"]: c.status for c in h.all_cis()}


def test_a_ci_last_seen_exactly_one_ttl_ago_is_still_active_and_a_millisecond_later_stale(tmp_path: Path) -> None:
    document = yaml.safe_load(resources.files("schema").joinpath("catalog.yaml").read_text())
    document["classes"]["host"]["aging"] = {"ttl_days": 1, "stale_after_runs": 10, "retire_after_runs": 20}
    h = Harness(tmp_path / "ttl.sqlite", schema=build_schema(document))
    try:
        h.run(_hosts(["i-a", "i-b"]))
        h.clock.advance(DAY - 1)
        h.run(_hosts(["i-a"]))
        assert _statuses(h) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}
        h.clock.advance(1)  # exactly one TTL since i-b was last seen
        h.run(_hosts(["i-a"]))
        assert _statuses(h) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.ACTIVE}
        h.clock.advance(1)
        h.run(_hosts(["i-a"]))
        assert _statuses(h) == {"i-a": Lifecycle.ACTIVE, "i-b": Lifecycle.STALE}
    finally:
        h.store.close()


@pytest.mark.parametrize("missing", [4, 5])  # a whole number of pages of 2, and one more
def test_aging_pages_through_every_candidate(harness: Harness, missing: int) -> None:
    harness.ingestor.aging_batch_size = 2
    kept = ["keep"]
    gone = [f"gone-{i}" for i in range(missing)]
    harness.run(_hosts(kept + gone))
    harness.run(_hosts(kept))
    run, _ = harness.run(_hosts(kept))
    assert _statuses(harness) == {"keep": Lifecycle.ACTIVE, **{g: Lifecycle.STALE for g in gone}}
    assert (run.counts["stale"], run.counts["retired"]) == (missing, 0)


def test_aging_records_its_run_counts_every_retirement_and_tells_the_listeners(harness: Harness) -> None:
    heard: list[tuple[str, str]] = []
    harness.ingestor.listeners.append(
        lambda changes: heard.extend((h.subject_uid, h.action.value) for h in changes.history if h.action.value != "create"))
    harness.run(_hosts(["keep", "gone-1", "gone-2"]))
    uids = {c.attributes["instance_id"]: c.uid for c in harness.all_cis()}
    runs = [harness.run(_hosts(["keep"]))[0] for _ in range(4)]
    assert [(r.counts["stale"], r.counts["retired"]) for r in runs] == [(0, 0), (2, 0), (0, 0), (0, 2)]
    assert sorted(heard) == sorted([(uids["gone-1"], "stale"), (uids["gone-2"], "stale"),
                                    (uids["gone-1"], "retire"), (uids["gone-2"], "retire")])
    for name in ("gone-1", "gone-2"):
        aged = [(h.action.value, h.run_id, h.source) for h in harness.store.history(uids[name])][1:]
        assert aged == [("stale", runs[1].run_id, "aws"), ("retire", runs[3].run_id, "aws")]
