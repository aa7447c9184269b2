"""The per-scope memory of SNMP addresses that answered (discovery.snmp.reached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from discovery.snmp.reached import Answered, ReachedTargets

DAY = 86_400_000


def test_remembered_across_instances_until_forgotten(tmp_path: Path) -> None:
    memory = ReachedTargets.for_scope(tmp_path, "campus/a b", forget_after_days=7)
    memory.record("127.0.0.12", "dist1.lab.example", 1_000)
    memory.save(1_000)
    assert [p.name for p in tmp_path.iterdir()] == ["snmp-reached-campus_a_b.json"]

    again = ReachedTargets.for_scope(tmp_path, "campus/a b", forget_after_days=7)
    known = again.known("127.0.0.12", 1_000 + 7 * DAY)
    assert known is not None and (known.name, known.last_answered) == ("dist1.lab.example", 1_000)
    assert again.known("127.0.0.12", 1_001 + 7 * DAY) is None  # silent past the window: silence again
    assert again.known("127.0.0.13", 1_000) is None
    again.save(1_001 + 7 * DAY)
    assert ReachedTargets.for_scope(tmp_path, "campus/a b").entries == {}


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "snmp-reached-x.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"snmp-reached-x\.json is unreadable .*delete it to start afresh"):
        ReachedTargets.for_scope(tmp_path, "x")


def test_each_address_keeps_its_part_and_strong_identity_and_old_files_still_load(tmp_path: Path) -> None:
    memory = ReachedTargets.for_scope(tmp_path, "campus")
    memory.record("127.0.0.12", "dist1.lab.example", 1_000, "dist1.lab.example", ("serial_number=FOC1",))
    memory.record("127.0.0.13", "dist2.lab.example", 1_000)
    memory.forget("127.0.0.13")
    memory.save(1_000)
    again = ReachedTargets.for_scope(tmp_path, "campus")
    assert again.entries == {"127.0.0.12": Answered("dist1.lab.example", 1_000, "dist1.lab.example", ("serial_number=FOC1",))}
    # A file written before parts: the name only (the scanner takes the part from it).
    (tmp_path / "snmp-reached-old.json").write_text('{"127.0.0.14": {"name": "acc1", "last_answered": 5}}', encoding="utf-8")
    assert ReachedTargets.for_scope(tmp_path, "old").entries == {"127.0.0.14": Answered("acc1", 5)}
