"""The SQLite change repository shares the store's file without touching its tables."""

from __future__ import annotations

from pathlib import Path

from cmdb.changes import Change, ChangeAction, ChangeFilter, ChangeState, ChangeWindow, TimeWindow, WindowKind
from cmdb.store.changes_sqlite import SQLiteChangeRepository
from cmdb.store.sqlite import SQLiteStore


def _change(uid: str, start: int, cis: tuple[str, ...], state: ChangeState = ChangeState.DRAFT) -> Change:
    return Change(uid=uid, title=uid, cis=cis, action=ChangeAction.RESTART,
                  window=TimeWindow(start=start, end=start + 10), requester="bob", state=state)


def test_changes_and_windows_persist_beside_the_graph(tmp_path: Path) -> None:
    path = tmp_path / "cmdb.sqlite"
    store = SQLiteStore(path)
    repo = SQLiteChangeRepository(path)
    repo.save_change(_change("c1", 100, ("a", "b")))
    repo.save_change(_change("c2", 105, ("b",), ChangeState.PLANNED))
    repo.save_change(_change("c3", 200, ("c",)))
    repo.save_window(ChangeWindow(uid="w1", kind=WindowKind.BLACKOUT, label="freeze", subjects=("b", "x"),
                                  window=TimeWindow(start=0, end=150)))
    repo.close()

    repo = SQLiteChangeRepository(path)  # reopened: everything is still there
    assert repo.get_change("c1") == _change("c1", 100, ("a", "b"))
    assert [c.uid for c in repo.list_changes(ChangeFilter(ci="b"))] == ["c1", "c2"]
    assert [c.uid for c in repo.list_changes(ChangeFilter(states=(ChangeState.PLANNED,)))] == ["c2"]
    assert [c.uid for c in repo.list_changes(ChangeFilter(overlapping=TimeWindow(start=110, end=201)))] == ["c2", "c3"]
    repo.save_change(_change("c1", 100, ("a",)))  # the CI list is replaced, not merged
    assert [c.uid for c in repo.list_changes(ChangeFilter(ci="b"))] == ["c2"]
    assert [w.uid for w in repo.windows_for(["x"])] == ["w1"]
    assert repo.windows_for(["x"], overlapping=TimeWindow(start=150, end=160)) == []
    assert repo.delete_window("w1") and repo.windows_for(["b"]) == []
    assert store.counts().cis == 0  # the graph's tables are untouched
    repo.close()
    store.close()
