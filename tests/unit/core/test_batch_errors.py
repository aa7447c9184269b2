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
