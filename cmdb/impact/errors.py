"""Domain errors of the impact queries."""

from __future__ import annotations


class ImpactError(ValueError):
    """Base class of impact-query errors the API reports as typed errors."""


class UnknownCI(ImpactError):
    """A requested CI is not in the topology index."""

    def __init__(self, uids: list[str]) -> None:
        super().__init__(f"unknown CI(s): {', '.join(sorted(uids))}")
        self.uids = sorted(uids)


class UnknownRelationshipType(ImpactError):
    """A requested relationship type is not declared in the schema."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"unknown relationship type(s): {', '.join(sorted(names))}")
        self.names = sorted(names)


class InvalidRequest(ImpactError):
    """Bounds out of range (negative depth, empty request...)."""
