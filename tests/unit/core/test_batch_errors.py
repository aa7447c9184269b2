"""A malformed item in a large batch is rejected alone; the rest applies; nothing of it remains."""

from __future__ import annotations

from pathlib import Path

from cmdb.model import CIQuery
from tests.builders import Harness, obs


def test_one_malformed_observation_in_ten_thousand(tmp_path: Path) -> None:
    h = Harness(tmp_path / "x.sqlite", batch_size=2000)
    items: list[object] = [obs("host", {"machine_id": f"m{n:05d}"}, {"cpu_count": 2}) for n in range(10_000)]
    items[4321] = obs("host", {"machine_id": "bad-one"}, {"cpu_count": "lots", "name": "bad"})
    items[7777] = {"kind": "ci", "source": "aws", "scope": "s1", "class": "host", "identifiers": {"machine_id": "m07777"},
                   "observed_at": "yesterday"}
    _, report = h.run(items)  # type: ignore[arg-type]
    assert [(e.index, e.field) for e in report.rejected] == [(4321, "attributes.cpu_count"), (7777, "observed_at")]
    assert report.created == 9_998
    machine_ids = {c.attributes["machine_id"] for c in h.all_cis()}
    assert machine_ids == {f"m{n:05d}" for n in range(10_000)} - {"m04321", "m07777"}
    assert h.store.search(CIQuery(text="bad")).items == []
    assert h.store.find_keys(["device#2||bad-one"]) == {}
    ci_uids = {c.uid for c in h.all_cis()}
    assert {e.subject_uid for e in h.all_history()} == ci_uids
    h.store.close()


def test_an_integer_past_64_bits_only_once_converted_is_its_items_error_not_its_batchs(tmp_path: Path) -> None:
    """``"9" * 30`` and ``1e300`` pass the storable check as given (a string, a float), and overflowed the
    store's encoder once coerced to the declared int: the whole batch failed."""
    h = Harness(tmp_path / "x.sqlite")
    _, report = h.run([obs("host", {"machine_id": "m1"}, {"cpu_count": "9" * 30}),
                       obs("host", {"machine_id": "m2"}, {"memory_mb": 1e300}),
                       obs("host", {"machine_id": "m3"}, {"cpu_count": str(2**63 - 1)})])
    assert [(e.index, e.field, e.message) for e in report.rejected] == [
        (0, "attributes.cpu_count", f"integer beyond 64 bits for int, got '{'9' * 30}'"),
        (1, "attributes.memory_mb", "integer beyond 64 bits for int, got 1e+300")]
    assert [(c.attributes["machine_id"], c.attributes["cpu_count"]) for c in h.all_cis()] == [("m3", 2**63 - 1)]
    h.store.close()


def test_a_json_attribute_holding_nan_or_infinity_is_its_items_error(tmp_path: Path) -> None:
    """JSON has neither: the value was stored as null, unlike what was given, so ingesting the same
    batch again recorded an update every time (found by mutation testing, reconcile's value tie-break)."""
    h = Harness(tmp_path / "x.sqlite")
    items = [obs("host", {"machine_id": "m1"}, {"tags": {"load": float("nan")}}),
             obs("host", {"machine_id": "m2"}, {"tags": [float("inf")]}),
             obs("host", {"machine_id": "m3"}, {"tags": float("-inf")}),
             obs("host", {"machine_id": "m4"}, {"tags": {"load": 0.5}})]
    _, report = h.run(items)
    assert [(e.index, e.field, e.message) for e in report.rejected] == [
        (0, "attributes.tags", "NaN or an infinity is not JSON for json, got {'load': nan}"),
        (1, "attributes.tags", "NaN or an infinity is not JSON for json, got [inf]"),
        (2, "attributes.tags", "NaN or an infinity is not JSON for json, got -inf")]
    _, again = h.run(items)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert [(c.attributes["machine_id"], c.attributes["tags"]) for c in h.all_cis()] == [("m4", {"load": 0.5})]
    h.store.close()
