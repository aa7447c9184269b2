"""The core commands, run as a user would: the real `cmdb` executable on a temporary store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CMDB = str(Path(sys.executable).parent / "cmdb")


def cmdb(args: list[str], data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CMDB_DATA_DIR": str(data_dir), "CMDB_STORE_URL": ""}
    env.pop("CMDB_STORE_URL")
    return subprocess.run([CMDB, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def lines(*items: dict[str, Any]) -> str:
    return "\n".join(json.dumps(i) for i in items) + "\n"


SERVICE = {"kind": "ci", "source": "manual", "scope": "hand", "class": "business_service",
           "identifiers": {"name": "Checkout"}, "attributes": {"owner": "payments", "criticality": "high"}}
APP = {"kind": "ci", "source": "manual", "scope": "hand", "class": "application", "identifiers": {"name": "checkout-api"}}
LINK = {"kind": "rel", "source": "manual", "scope": "hand", "type": "DEPENDS_ON",
        "from": {"class": "business_service", "identifiers": {"name": "Checkout"}},
        "to": {"class": "application", "identifiers": {"name": "checkout-api"}}}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_help_explains_the_commands(data_dir: Path) -> None:
    result = cmdb(["--help"], data_dir)
    assert result.returncode == 0
    for command in ("ingest", "ci", "search", "history", "runs", "discover"):
        assert command in result.stdout


def test_ingest_from_stdin_then_look_up_search_history_and_runs(data_dir: Path) -> None:
    result = cmdb(["ingest", "-", "--source", "manual", "--scope", "hand", "--json"], data_dir,
                  stdin=lines(SERVICE, APP, LINK))
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)["run"]
    assert (run["status"], run["counts"]["created"], run["counts"]["relationships_created"]) == ("complete", 2, 1)

    found = json.loads(cmdb(["search", "Checkout", "--class", "business_service", "--json"], data_dir).stdout)
    assert [(c["class"], c["name"]) for c in found["items"]] == [("business_service", "Checkout")]
    uid = found["items"][0]["uid"]

    detail = json.loads(cmdb(["ci", uid, "--json"], data_dir).stdout)
    assert detail["attributes"] == {"name": "Checkout", "owner": "payments", "criticality": "high"}
    assert detail["provenance"]["owner"]["source"] == "manual"
    assert [(r["type"], r["from"]) for r in detail["relationships"]] == [("DEPENDS_ON", uid)]

    history = json.loads(cmdb(["history", uid, "--json"], data_dir).stdout)
    assert [(h["action"], h["source"], h["run_id"]) for h in history] == [("create", "manual", run["run_id"])]

    runs = json.loads(cmdb(["runs", "--json"], data_dir).stdout)
    assert [(r["run_id"], r["source"], r["scope"], r["status"]) for r in runs] == [
        (run["run_id"], "manual", "hand", "complete")]

    filtered = json.loads(cmdb(["search", "--where", "criticality=high", "--json"], data_dir).stdout)
    assert [c["uid"] for c in filtered["items"]] == [uid]


def test_bad_lines_are_reported_with_their_line_and_field_and_the_run_is_incomplete(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "batch.jsonl"
    bad_class = {**APP, "class": "gizmo"}
    file.write_text(lines(SERVICE, bad_class) + "{not json\n" + lines(APP))
    result = cmdb(["ingest", str(file), "--source", "manual", "--scope", "hand"], data_dir)
    assert result.returncode == 2
    # Listed by their line in the file (1-based), in file order.
    listed = [line.removeprefix("rejected ") for line in result.stderr.splitlines() if line.startswith("rejected ")]
    assert listed == ["line 2: class: unknown CI class 'gizmo'",
                      "line 3: invalid JSON: Expecting property name enclosed in double quotes"]
    runs = json.loads(cmdb(["runs", "--json"], data_dir).stdout)
    assert [(r["status"], r["counts"]["created"], r["counts"]["rejected"]) for r in runs] == [("incomplete", 2, 1)]
    assert runs[0]["errors"][-2:] == ["1 line(s) could not be read", "1 item(s) rejected"]
    as_json = cmdb(["ingest", str(file), "--source", "manual", "--scope", "hand", "--json"], data_dir)
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["rejected"] == [
        {"line": 2, "field": "class", "message": "unknown CI class 'gizmo'"}]


def test_unknown_uid_is_a_clear_error(data_dir: Path) -> None:
    result = cmdb(["ci", "does-not-exist"], data_dir)
    assert result.returncode == 1
    assert "CI 'does-not-exist' not found" in result.stdout + result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_an_unreachable_store_says_so_and_starts_nothing(data_dir: Path, workers: str) -> None:
    # Port 1 on 127.0.0.1: nothing listens there, so the connection is refused at once.
    result = cmdb(["serve", "--workers", workers, "--store", "falkordb://127.0.0.1:1/cmdb"], data_dir)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "cmdb: the store cannot be reached: FalkorDB at 127.0.0.1:1 cannot be reached" in out
    assert "Traceback" not in out
    assert "worker pid" not in out  # refused before any worker was started
