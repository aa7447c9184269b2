"""Where changes, windows and plan snapshots are kept: one small protocol.

``cmdb.store.changes_sqlite.SQLiteChangeRepository`` implements it in the store's
SQLite file (or one beside it for other graph backends).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cmdb.changes.model import Change, ChangeFilter, ChangeWindow, TimeWindow
from cmdb.changes.plan import ChangePlan, Snapshot


@runtime_checkable
class ChangeRepository(Protocol):
    def save_change(self, change: Change) -> None:
        """Insert or replace a change (and the CIs it touches)."""
        ...

    def commit_change(self, change: Change, expected_revision: int, plan: ChangePlan | None = None,
                      snapshot: Snapshot | None = None) -> bool:
        """Write ``change`` (and its latest plan / approved snapshot) only if the stored revision is still
        ``expected_revision``, all in one transaction; False when another writer got there first."""
        ...

    def get_change(self, uid: str) -> Change | None:
        ...

    def list_changes(self, query: ChangeFilter) -> list[Change]:
        """Changes matching every criterion, by window start then uid."""
        ...

    def save_window(self, window: ChangeWindow) -> None:
        ...

    def delete_window(self, uid: str) -> bool:
        ...

    def windows_for(self, subjects: list[str], overlapping: TimeWindow | None = None) -> list[ChangeWindow]:
        """Windows declared on any of ``subjects`` (optionally only those overlapping a window)."""
        ...

    def list_windows(self) -> list[ChangeWindow]:
        ...

    def save_plan(self, plan: ChangePlan) -> None:
        """Keep the latest plan of a change (replaced by every planning)."""
        ...

    def latest_plan(self, change_uid: str) -> ChangePlan | None:
        ...

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep the plan approved for a change (replaced by a later approval)."""
        ...

    def get_snapshot(self, change_uid: str) -> Snapshot | None:
        ...

    def close(self) -> None:
        ...
