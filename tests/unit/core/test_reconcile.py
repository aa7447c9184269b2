"""Per-attribute precedence with staleness windows, nulls, history, idempotence, order independence."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb.model import CI, Action, Provenance
from cmdb.observation import Observation
from cmdb.reconcile import Precedence, merge_attributes
from schema import load_schema
from tests.builders import DAY, T0, Harness, obs


def test_lower_priority_source_cannot_overwrite_a_fresh_value_but_can_a_stale_one(harness: Harness) -> None:
    # aws (priority 80, 7-day window) owns the name; ssh (priority 70) disagrees.
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-a"}, at=T0)])
    harness.clock.now = T0 + DAY
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-b"}, source="ssh", at=T0 + DAY)], source="ssh")
    assert harness.find("host", instance_id="i-1").attributes["name"] == "web-a"

    harness.clock.now = T0 + 10 * DAY  # aws last saw it 10 days ago: stale
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-b"}, source="ssh", at=T0 + 10 * DAY)], source="ssh")
    ci = harness.find("host", instance_id="i-1")
    assert ci.attributes["name"] == "web-b"
    assert (ci.provenance["name"].source, ci.provenance["name"].observed_at) == ("ssh", T0 + 10 * DAY)

    # Fresh aws data takes the attribute back.
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-a"}, at=T0 + 10 * DAY)])
    assert harness.find("host", instance_id="i-1").attributes["name"] == "web-a"


def test_a_null_never_overwrites_a_value(harness: Harness) -> None:
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": "web-a", "os_name": "Debian"})])
    harness.run([obs("host", {"instance_id": "i-1"}, {"name": None, "os_name": None})])
    assert harness.find("host", instance_id="i-1").attributes == {"instance_id": "i-1", "name": "web-a", "os_name": "Debian"}


def test_every_change_is_in_history_with_before_after_source_and_run(harness: Harness) -> None:
    run1, _ = harness.run([obs("host", {"instance_id": "i-1"}, {"name": "a", "memory_mb": 1024})])
    harness.clock.advance(60_000)
    run2, _ = harness.run([obs("host", {"instance_id": "i-1"}, {"name": "b", "memory_mb": 1024}, at=T0 + 60_000)])
    ci = harness.find("host", instance_id="i-1")
    entries = harness.store.history(ci.uid)
    assert [(e.action, e.changes, e.source, e.run_id, e.at) for e in entries] == [
        (Action.CREATE, {"class": [None, "host"], "instance_id": [None, "i-1"], "name": [None, "a"],
                         "memory_mb": [None, 1024]}, "aws", run1.run_id, T0),
        (Action.UPDATE, {"name": ["a", "b"]}, "aws", run2.run_id, T0 + 60_000),
    ]


def test_reingesting_the_same_batch_changes_nothing(harness: Harness) -> None:
    items = [obs("host", {"instance_id": f"i-{n}"}, {"name": f"n{n}"}) for n in range(50)]
    harness.run(items)
    before = (harness.store.counts().cis, harness.store.counts().history)
    _, report = harness.run(items)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 50)
    assert (harness.store.counts().cis, harness.store.counts().history) == before


SOURCES = ("aws", "ssh", "snmp")
ATTRS = ("name", "os_name", "owner")

observation_specs = st.lists(
    st.tuples(
        st.sampled_from(SOURCES),
        st.integers(0, 3),  # which host
        st.dictionaries(st.sampled_from(ATTRS), st.one_of(st.none(), st.sampled_from(["x", "y", "z"])), max_size=3),
        st.integers(0, 20),  # observed, days after T0
    ),
    min_size=1, max_size=12,
)


def _ingest_in_order(specs: list[tuple[str, int, dict[str, str | None], int]], order: tuple[str, ...],
                     now: int) -> dict[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp) / "x.sqlite")
        h.clock.now = now
        for source in order:
            items = [obs("host", {"machine_id": f"m{host}"}, dict(attrs), source=source, scope="s", at=T0 + day * DAY)
                     for src, host, attrs, day in specs if src == source]
            if items:
                h.run(items, source=source, scope="s")
        result = {c.attributes["machine_id"]: dict(c.attributes) for c in h.all_cis()}
        h.store.close()
        return result


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observation_specs, st.integers(0, 30))
def test_the_result_does_not_depend_on_the_order_sources_report_in(specs: list[tuple[str, int, dict[str, str | None], int]],
                                                                   now_day: int) -> None:
    now = T0 + now_day * DAY
    results = [_ingest_in_order(specs, order, now) for order in itertools.permutations(SOURCES)]
    assert all(r == results[0] for r in results[1:])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(observation_specs)
def test_ingesting_any_batch_twice_changes_nothing_the_second_time(specs: list[tuple[str, int, dict[str, str | None], int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp) / "x.sqlite")
        items: list[Observation] = [obs("host", {"machine_id": f"m{host}"}, dict(attrs), source="aws", scope="s",
                                        at=T0 + day * DAY) for _, host, attrs, day in specs]
        h.run(items, scope="s")
        counts = h.store.counts()
        state = {c.uid: (dict(c.attributes), c.updated_at) for c in h.all_cis()}
        _, report = h.run(items, scope="s")
        assert (report.created, report.updated) == (0, 0)
        assert (h.store.counts().cis, h.store.counts().history) == (counts.cis, counts.history)
        assert {c.uid: (dict(c.attributes), c.updated_at) for c in h.all_cis()} == state
        h.store.close()


def test_one_source_reporting_two_values_at_the_same_instant_settles_on_one(harness: Harness) -> None:
    """The value breaks the last tie, so the batch is idempotent and its order does not matter."""
    x = obs("host", {"machine_id": "m0"}, {"owner": "x"})
    y = obs("host", {"machine_id": "m0"}, {"owner": "y"})
    harness.run([x, y])
    history = harness.store.counts().history
    harness.run([x, y])
    harness.run([y, x])
    assert harness.find("host", machine_id="m0").attributes["owner"] == "y"
    assert harness.store.counts().history == history


# -- Precedence and merge_attributes, value by value ----------------------------------------

NOW = T0 + 10 * DAY


def _precedence() -> Precedence:
    return Precedence(load_schema(), NOW)


def test_a_rank_is_freshness_priority_first_hand_time_and_source() -> None:
    p = _precedence()
    assert p.rank("aws", NOW - 7 * DAY) == (True, 80, True, NOW - 7 * DAY, "aws")  # aws: priority 80, 7 days
    assert p.rank("aws", NOW - 7 * DAY - 1) == (False, 80, True, NOW - 7 * DAY - 1, "aws")
    assert p.rank("aws", NOW, hearsay=True) == (True, 80, False, NOW, "aws")


def test_a_source_the_catalog_no_longer_declares_ranks_priority_0_and_is_fresh_only_at_now() -> None:
    # Provenance stored under an earlier catalog may name a source this one has dropped.
    p = _precedence()
    assert p.rank("retired", NOW) == (True, 0, True, NOW, "retired")
    assert p.rank("retired", NOW - 1) == (False, 0, True, NOW - 1, "retired")


def test_a_value_held_from_a_source_the_catalog_no_longer_declares_gives_way_to_a_declared_one() -> None:
    ci = CI("u1", "host", {"name": "old"}, {"name": Provenance("retired", NOW)})
    assert merge_attributes(ci, {"name": "new"}, "synthetic", NOW - DAY, _precedence()) == ({"name": ["old", "new"]}, True)
    assert ci.provenance == {"name": Provenance("synthetic", NOW - DAY)}


def test_a_source_seeing_its_own_value_again_at_the_same_instant_changes_and_moves_nothing() -> None:
    p = _precedence()
    ci = CI("u1", "host", {"name": "a"}, {"name": Provenance("aws", NOW)})
    assert merge_attributes(ci, {"name": "a"}, "aws", NOW, p) == ({}, False)
    assert ci.provenance == {"name": Provenance("aws", NOW)}
    told = CI("u2", "host", {"name": "a"}, {"name": Provenance("aws", NOW, True)})
    assert merge_attributes(told, {"name": "a"}, "aws", NOW, p, hearsay=True) == ({}, False)
    assert told.provenance == {"name": Provenance("aws", NOW, True)}


def test_a_value_is_recorded_first_hand_unless_given_as_hearsay() -> None:
    p = _precedence()
    seen = CI("u1", "host", {}, {})
    assert merge_attributes(seen, {"name": "a"}, "aws", NOW, p) == ({"name": [None, "a"]}, True)
    assert seen.provenance["name"] == Provenance("aws", NOW, False)
    told = CI("u2", "host", {}, {})
    assert merge_attributes(told, {"name": "a"}, "aws", NOW, p, hearsay=True) == ({"name": [None, "a"]}, True)
    assert told.provenance["name"] == Provenance("aws", NOW, True)


def test_a_first_hand_value_outranks_its_sources_later_hearsay() -> None:
    ci = CI("u1", "host", {"name": "told"}, {"name": Provenance("aws", NOW, True)})
    assert merge_attributes(ci, {"name": "seen"}, "aws", NOW - DAY, _precedence()) == ({"name": ["told", "seen"]}, True)
    assert ci.provenance == {"name": Provenance("aws", NOW - DAY)}


def test_a_higher_priority_source_at_the_same_instant_takes_the_provenance_even_of_the_same_value() -> None:
    p = _precedence()
    ci = CI("u1", "host", {"name": "a", "owner": "x"}, {"name": Provenance("ssh", NOW), "owner": Provenance("ssh", NOW)})
    assert merge_attributes(ci, {"name": "a", "owner": "y"}, "aws", NOW, p) == ({"owner": ["x", "y"]}, True)
    assert ci.provenance == {"name": Provenance("aws", NOW), "owner": Provenance("aws", NOW)}


def test_the_tie_between_two_json_values_does_not_depend_on_the_order_of_their_keys() -> None:
    """One source, one instant: the larger canonical JSON (keys sorted) wins, {"a": 2, ...} here."""
    p = _precedence()
    x = {"a": 2, "b": 0}
    for y in ({"b": 1, "a": 1}, {"a": 1, "b": 1}):
        for first, second in ((x, y), (y, x)):
            ci = CI("u1", "host", {}, {})
            merge_attributes(ci, {"tags": first}, "aws", NOW, p)
            merge_attributes(ci, {"tags": second}, "aws", NOW, p)
            assert ci.attributes["tags"] == {"a": 2, "b": 0}
