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


class IdentityConflict(CmdbError):
    """A store refused a batch because an identification key it registers already belongs to another CI.

    Raised by ``GraphStore.apply`` when another writer registered the key between
    this batch's lookups and its write (a store whose ``write_batch`` cannot hold
    its lookups and its write in one transaction, e.g. a uniqueness constraint on
    Cypher key nodes). Nothing of the batch was written: the ingestor identifies
    the batch again from scratch.
    """

    def __init__(self, key: str, message: str = "") -> None:
        super().__init__(message or f"identification key {key!r} was registered by another writer")
        self.key = key
