"""Domain errors of change planning: every expected failure is one of these types."""

from __future__ import annotations

from cmdb.errors import CmdbError


class ChangeError(CmdbError):
    """Base of change-planning failures the API reports as typed errors."""


class ChangeNotFound(ChangeError):
    """No change (or window) with that uid."""

    def __init__(self, what: str, uid: str) -> None:
        super().__init__(f"{what} {uid!r} not found")
        self.what = what
        self.uid = uid


class InvalidTransition(ChangeError):
    """A state transition the change lifecycle does not allow (approve a draft, plan a done change)."""

    def __init__(self, uid: str, current: str, wanted: str) -> None:
        super().__init__(f"change {uid!r} is {current}; it cannot become {wanted}")
        self.uid = uid
        self.current = current
        self.wanted = wanted


class InvalidChange(ChangeError):
    """A change or window that cannot be recorded; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NoSnapshot(ChangeError):
    """Drift asked of a change that was never approved (no snapshot to compare with)."""

    def __init__(self, uid: str) -> None:
        super().__init__(f"change {uid!r} has no approved plan snapshot")
        self.uid = uid
