"""The staleness window's edge: a value observed exactly ``staleness_days`` ago is still fresh."""

from __future__ import annotations

from tests.builders import DAY, T0, Harness, obs

AWS_WINDOW = 7 * DAY  # schema/catalog.yaml: aws {priority: 80, staleness_days: 7}


def _ssh_reports_a_new_name_at(harness: Harness, now: int) -> str:
    harness.clock.now = now
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-b"}, source="ssh", at=now)], source="ssh")
    return str(harness.find("host", instance_id="i-1").attributes["name"])


def test_a_value_exactly_at_the_edge_of_its_window_is_still_fresh(harness: Harness) -> None:
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-a"}, at=T0)])
    assert _ssh_reports_a_new_name_at(harness, T0 + AWS_WINDOW) == "web-a"


def test_a_value_one_millisecond_past_its_window_is_stale(harness: Harness) -> None:
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-a"}, at=T0)])
    assert _ssh_reports_a_new_name_at(harness, T0 + AWS_WINDOW + 1) == "web-b"
