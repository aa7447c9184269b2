"""Impact and dependency analysis on the topology index: redundancy-aware and explained."""

from cmdb.impact.errors import ImpactError, InvalidRequest, UnknownCI, UnknownRelationshipType
from cmdb.impact.models import (
    DependencyCI,
    DependencyReport,
    DependencyRequest,
    Grade,
    GroupState,
    ImpactedCI,
    ImpactReport,
    ImpactRequest,
    NetworkLinkSpof,
    NetworkSpof,
    NetworkSpofReport,
    NetworkState,
    PathReport,
    PathStep,
    ServiceImpact,
    SpofCI,
    SpofReport,
    Truncation,
    UngradedCI,
)
from cmdb.impact.service import ImpactService

__all__ = [
    "DependencyCI", "DependencyReport", "DependencyRequest", "Grade", "GroupState", "ImpactError", "ImpactReport",
    "ImpactRequest", "ImpactService", "ImpactedCI", "InvalidRequest", "NetworkLinkSpof",
    "NetworkSpof", "NetworkSpofReport", "NetworkState", "PathReport", "PathStep",
    "ServiceImpact", "SpofCI", "SpofReport", "Truncation", "UngradedCI", "UnknownCI", "UnknownRelationshipType",
]
