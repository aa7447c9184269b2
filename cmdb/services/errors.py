"""Expected failures of the read and edit use cases (the API maps each to a typed error)."""

from __future__ import annotations

from cmdb.errors import CmdbError


class InvalidQuery(CmdbError):
    """A search or traversal argument the schema does not allow; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EditRejected(CmdbError):
    """A manual edit the ingest pipeline refused (validation or precedence)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotConfigured(CmdbError):
    """A capability this server was started without (impact engine, discovery scheduler)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not configured on this server")
        self.what = what
