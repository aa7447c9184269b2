"""`cmdb merge`, `cmdb unmerge` and `cmdb duplicates`, run as a user would: the real executable on a temporary store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.cli.test_core_commands import cmdb, lines


def host(ids: dict[str, Any], attrs: dict[str, Any] | None = None, scope: str = "hand") -> dict[str, Any]:
    return {"kind": "ci", "source": "manual", "scope": scope, "class": "host", "identifiers": ids,
            "attributes": attrs or {}}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def ingest(data_dir: Path, *items: dict[str, Any], scope: str = "hand") -> None:
    result = cmdb(["ingest", "-", "--source", "manual", "--scope", scope], data_dir, stdin=lines(*items))
    assert result.returncode == 0, result.stderr


def find(data_dir: Path, **attrs: Any) -> dict[str, Any]:
    result = cmdb(["search", "--json", "--limit", "100"], data_dir)
    assert result.returncode == 0, result.stderr
    found: list[dict[str, Any]] = [c for c in json.loads(result.stdout)["items"] if all(c["attributes"].get(k) == v for k, v in attrs.items())]
    assert len(found) == 1, found
    return found[0]


def test_merge_then_unmerge_by_hand(data_dir: Path) -> None:
    ingest(data_dir, host({"fqdn": "db1.example.com"}, {"owner": "dba", "name": "db1"}))
    ingest(data_dir, host({"serial_number": "SN-1"}, {"name": "db1-chassis"}, scope="dcim"), scope="dcim")
    keep, other = find(data_dir, fqdn="db1.example.com"), find(data_dir, serial_number="SN-1")

    result = cmdb(["merge", keep["uid"], other["uid"], "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    merged = json.loads(result.stdout)
    assert (merged["kept"]["attributes"]["serial_number"], merged["kept"]["attributes"]["owner"]) == ("SN-1", "dba")
    assert (merged["absorbed"]["status"], merged["absorbed"]["duplicate_of"]) == ("retired", keep["uid"])
    history = json.loads(cmdb(["history", other["uid"], "--json"], data_dir).stdout)
    assert [h["changes"] for h in history if h["action"] == "merge"] == [
        {"merged_into": [None, keep["uid"]], "status": ["active", "retired"]}]

    result = cmdb(["unmerge", other["uid"], "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    restored = json.loads(result.stdout)
    assert (restored["restored"]["status"], restored["restored"]["duplicate_of"]) == ("active", None)
    assert "serial_number" not in restored["kept"]["attributes"]
    assert restored["restored"]["attributes"]["serial_number"] == "SN-1"
    # Each answers its own identifiers again: an observation by serial finds the restored CI.
    ingest(data_dir, host({"serial_number": "SN-1"}, {"description": "rack 4"}, scope="dcim"), scope="dcim")
    assert find(data_dir, serial_number="SN-1")["uid"] == other["uid"]


def test_a_merge_of_two_things_is_refused_and_duplicates_are_listed_with_their_evidence(data_dir: Path) -> None:
    ingest(data_dir, host({"machine_id": "m1", "sys_name": "web"}), host({"machine_id": "m2", "sys_name": "web"}))
    one, two = find(data_dir, machine_id="m1"), find(data_dir, machine_id="m2")
    result = cmdb(["merge", one["uid"], two["uid"]], data_dir)
    assert result.returncode == 1 and "their machine_id differ" in result.stderr.replace("\n", " ")

    result = cmdb(["duplicates", "--json"], data_dir)
    assert result.returncode == 0, result.stderr
    uids = sorted([one["uid"], two["uid"]])  # created in one batch: oldest first, then by uid
    assert json.loads(result.stdout) == [{
        "uids": uids, "classes": ["host", "host"], "names": uids,
        "evidence": ["sys_name = web"], "separated": True, "separated_by": ["machine_id"]}]
