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


class ApprovalConflict(ChangeError):
    """The change moved on while the caller was deciding (another approval won, or a new plan version)."""

    def __init__(self, uid: str, expected: int, actual: int, what: str = "revision", detail: str = "") -> None:
        super().__init__(f"change {uid!r} changed meanwhile ({what} {expected} expected, {actual} now"
                         f"{'; ' + detail if detail else ''}); read it again and retry")
        self.uid = uid
        self.expected = expected
        self.actual = actual


class ApprovalRefused(ChangeError):
    """The approver may not approve this change (separation of duties, authority, a second vote)."""

    def __init__(self, uid: str, approver: str, reason: str) -> None:
        super().__init__(f"{approver!r} cannot approve change {uid!r}: {reason}")
        self.uid = uid
        self.approver = approver
        self.reason = reason


class CannotStart(ChangeError):
    """The change may not start now: outside its window, or its approval was voided by drift."""

    def __init__(self, uid: str, reason: str) -> None:
        super().__init__(f"change {uid!r} cannot start: {reason}")
        self.uid = uid
        self.reason = reason
