"""`cmdb ingest -` interrupted mid-run, as a user or the OS does it: real processes, real signals.

Ctrl-C (SIGINT) or SIGTERM: the run ends ``incomplete`` with the reason and the
command exits 130. SIGKILL: nothing in the process runs, so the run stays
``running`` until the store is next opened for writing, which closes it as
``abandoned`` (its process is gone) and takes back what its sightings did.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmdb.model import RunStatus
from cmdb.store.sqlite import SQLiteStore

CMDB = str(Path(sys.executable).with_name("cmdb"))
APPS = 1500  # 2,999 items, more than one ingest batch (2,000): the first one commits while stdin stays open


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "CMDB_DATA_DIR": str(data_dir)}
    env.pop("CMDB_STORE_URL", None)
    return env


def _items(n: int) -> list[dict[str, Any]]:
    """Applications app-0.. each followed by its DEPENDS_ON to the previous one (source manual, scope apps).

    Interleaved, so that every batch sights relationships as well as CIs.
    """
    items: list[dict[str, Any]] = []
    for i in range(n):
        items.append({"kind": "ci", "source": "manual", "scope": "apps", "class": "application",
                      "identifiers": {"name": f"app-{i}"}})
        if i:
            items.append({"kind": "rel", "source": "manual", "scope": "apps", "type": "DEPENDS_ON",
                          "from": {"class": "application", "identifiers": {"name": f"app-{i}"}},
                          "to": {"class": "application", "identifiers": {"name": f"app-{i - 1}"}},
                          "evidence": {"method": "traffic", "confidence": 0.5}})
    return items


def _text(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(i) + "\n" for i in items)


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "cmdb.sqlite", timeout=30)


def _wait_for(condition: Callable[[], Any], what: str, bound_s: float = 120.0) -> Any:
    """Poll ``condition`` until it returns something truthy, within a bound (a condition, not a delay)."""
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _running_run_with_a_batch(data_dir: Path) -> str | None:
    """The id of a ``running`` run that has committed at least one batch (its sightings), else None."""
    if not (data_dir / "cmdb.sqlite").exists():
        return None
    with _db(data_dir) as conn:
        row = conn.execute("SELECT r.run_id FROM runs r WHERE r.status = 'running' AND EXISTS"
                           " (SELECT 1 FROM sightings s WHERE s.run_id = r.run_id)").fetchone()
    return row[0] if row else None


def _sigint_as_at_a_terminal() -> None:
    """In the child before exec: SIGINT to its default, so Python turns it into KeyboardInterrupt.
    A suite started in the background by a shell without job control (``make test &``) runs with
    SIGINT ignored, and a child inherits that: the signal would never reach ``cmdb ingest``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_ingest(data_dir: Path, text: str) -> tuple[subprocess.Popen[str], str]:
    """`cmdb ingest -` fed ``text`` with stdin left open: mid-run once its first batch is committed."""
    proc = subprocess.Popen([CMDB, "ingest", "-", "--source", "manual", "--scope", "apps"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(data_dir),
                            preexec_fn=_sigint_as_at_a_terminal)
    assert proc.stdin is not None
    proc.stdin.write(text)
    proc.stdin.flush()
    run_id = _wait_for(lambda: _running_run_with_a_batch(data_dir), "the first batch of the run")
    return proc, run_id


def _runs(data_dir: Path) -> dict[str, tuple[RunStatus, list[str]]]:
    store = SQLiteStore(data_dir / "cmdb.sqlite")  # opening for reading closes nothing
    try:
        return {r.run_id: (r.status, r.errors) for r in store.list_runs(limit=100)}
    finally:
        store.close()


def _ingest_file(data_dir: Path, text: str, scope: str = "apps") -> dict[str, Any]:
    result = subprocess.run([CMDB, "ingest", "-", "--source", "manual", "--scope", scope, "--json"], input=text,
                            capture_output=True, text=True, env=_env(data_dir), timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    run: dict[str, Any] = json.loads(result.stdout)["run"]
    return run


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_ingest_ends_its_run_incomplete_with_the_reason(tmp_path: Path, sig: signal.Signals) -> None:
    data_dir = tmp_path / "data"
    proc, run_id = _start_ingest(data_dir, _text(_items(APPS)))
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert f"run {run_id} closed incomplete" in stderr
    runs = _runs(data_dir)
    assert runs == {run_id: (RunStatus.INCOMPLETE, [f"interrupted ({sig.name})"])}


def test_a_killed_ingest_is_abandoned_by_the_next_writer_and_its_sightings_do_not_count(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    items = _items(APPS)
    first = _ingest_file(data_dir, _text(items))
    assert first["status"] == "complete"
    with _db(data_dir) as conn:
        before_sightings = conn.execute("SELECT subject_uid, run_id, seen_at, missed FROM sightings"
                                        " ORDER BY subject_uid").fetchall()
        before_evidence = conn.execute("SELECT uid, evidence, last_run FROM rels ORDER BY uid").fetchall()
    assert {r[1] for r in before_sightings} == {first["run_id"]}

    # The same estate again, killed after its first batch (2,000 items re-sighted).
    proc, killed = _start_ingest(data_dir, _text(items))
    proc.kill()
    proc.wait(timeout=60)
    with _db(data_dir) as conn:
        resighted = conn.execute("SELECT count(*) FROM sightings WHERE run_id = ?", (killed,)).fetchone()[0]
        recounted = conn.execute("SELECT count(*) FROM rels WHERE last_run = ?", (killed,)).fetchone()[0]
    assert resighted >= 2000 and recounted >= 999  # it really was mid-run, evidence counted
    assert _runs(data_dir)[killed][0] is RunStatus.RUNNING  # nothing in the killed process could close it

    # The next writer (another ingest, another scope) closes it as abandoned.
    other = _ingest_file(data_dir, _text([{"kind": "ci", "source": "manual", "scope": "other", "class": "application",
                                           "identifiers": {"name": "elsewhere"}}]), scope="other")
    runs = _runs(data_dir)
    status, errors = runs[killed]
    assert status is RunStatus.ABANDONED
    assert len(errors) == 1 and errors[0].startswith("abandoned: its process (") and errors[0].endswith(") is gone")
    assert {s for s, _ in runs.values()} == {RunStatus.COMPLETE, RunStatus.ABANDONED}
    assert runs[other["run_id"]][0] is RunStatus.COMPLETE

    # What the killed run sighted counts neither for aging nor as evidence: as before it.
    with _db(data_dir) as conn:
        after_sightings = conn.execute("SELECT subject_uid, run_id, seen_at, missed FROM sightings"
                                       " WHERE scope = 'apps' ORDER BY subject_uid").fetchall()
        after_evidence = conn.execute("SELECT uid, evidence, last_run FROM rels ORDER BY uid").fetchall()
    assert after_sightings == before_sightings
    assert after_evidence == before_evidence
