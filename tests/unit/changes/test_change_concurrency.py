"""Two OS processes approve the same change at once on one SQLite store: exactly one wins, the other is told
of the conflict (exit 4), and the change records one approval."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmdb.changes import ChangeState
from tests.unit.changes.change_scenario import DAY, T0, Scenario

ROOT = Path(__file__).resolve().parents[3]

# Each process reads the change, says so, waits until the other has read it too (a bounded wait on a file),
# then writes an approval with the revision it read: both read revision r, both try to write r + 1.
_RACER = """
import sys, time
from pathlib import Path
from cmdb.changes import Approval
from cmdb.store.changes_sqlite import SQLiteChangeRepository

store, uid, me, other, gate = sys.argv[1:6]
repo = SQLiteChangeRepository(store)
read = repo.get_change(uid)
Path(gate, me).touch()
deadline = time.monotonic() + 60
while not Path(gate, other).exists():
    if time.monotonic() > deadline:
        sys.exit(9)
    time.sleep(0.01)
approval = Approval(approver=me, at=0, plan_version=read.plan_version)
won = repo.commit_change(read.model_copy(update={"revision": read.revision + 1, "approvals": (approval,)}),
                         read.revision)
repo.close()
print("won" if won else "lost")
"""


def _approve(store: str, uid: str, user: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CMDB_STORE_URL": f"sqlite:///{store}",
           "CMDB_DATA_DIR": str(tmp_path), "LOGNAME": user, "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-c", "from cmdb_cli.main import app; app()", "change", "approve",
                             uid, "--plan-version", "1"], env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


@pytest.mark.parametrize("trial", range(3))
def test_two_processes_approving_at_once_exactly_one_wins(scenario: Scenario, tmp_path: Path, trial: int) -> None:
    uid = scenario.change(f"patch i-web1 #{trial}", ["i-web1"], T0 + 2 * DAY)
    assert scenario.service.plan(uid).risk.level == "medium"  # one approval completes it
    procs = {user: _approve(scenario.h.sqlite.path, uid, user, tmp_path) for user in ("carol", "dave")}
    results = {}
    for user, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[user] = (proc.returncode, out + err)
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 4], results
    winner = next(u for u, (code, _) in results.items() if code == 0)
    loser_output = next(text for code, text in results.values() if code == 4)
    # Which way it lost depends on the OS's scheduling (it read before or after the winner wrote); the
    # interleaving where both read first is forced below.
    assert f"change {uid!r} changed meanwhile" in " ".join(loser_output.split())
    change = scenario.service.get(uid)
    assert change.state is ChangeState.APPROVED
    assert [a.approver for a in change.approvals] == [winner]
    snapshot = scenario.repo.get_snapshot(uid)
    assert snapshot is not None and snapshot.approved_by == winner


def test_both_read_then_both_write_exactly_one_write_lands(scenario: Scenario, tmp_path: Path) -> None:
    uid = scenario.change("patch i-web1", ["i-web1"], T0 + 2 * DAY)
    scenario.service.plan(uid)
    revision = scenario.service.get(uid).revision
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = {me: subprocess.Popen([sys.executable, "-c", _RACER, scenario.h.sqlite.path, uid, me, other, str(gate)],
                                  env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for me, other in (("carol", "dave"), ("dave", "carol"))}
    said = {}
    for me, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        said[me] = out.strip()
    assert sorted(said.values()) == ["lost", "won"]
    winner = next(me for me, word in said.items() if word == "won")
    change = scenario.service.get(uid)
    assert change.revision == revision + 1 and [a.approver for a in change.approvals] == [winner]
