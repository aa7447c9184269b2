"""Domain errors: every expected failure of the CMDB is one of these types."""

from __future__ import annotations

from cmdb.redact import redact_text


class CmdbError(Exception):
    """Base of the domain's expected failures."""


class NotFound(CmdbError):
    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class InvalidItem(CmdbError):
    """An observation or relation that cannot be applied; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        message = redact_text(message)  # it may quote the value it refuses; run errors and logs keep it
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PermissionDenied(CmdbError):
    pass


class RunStateError(CmdbError):
    """A scan run used out of order (ingest into a finished run, finish twice)."""
