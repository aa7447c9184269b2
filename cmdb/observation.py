"""The Observation contract between discovery and the CMDB.

Scanners (local or remote collectors) emit these objects and nothing else. They
name CIs by identifying attributes, never by store ids. Times are epoch
milliseconds.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Scalar = str | int | float | bool


def now_ms() -> int:
    return int(time.time() * 1000)


class Method(str, Enum):
    """How a relationship was learned, strongest first."""

    DECLARED = "declared"  # an API or a person said so
    CONFIG = "config"  # read from configuration (LLDP tables, LB pools)
    TRAFFIC = "traffic"  # inferred from observed connections
    INFERRED = "inferred"  # derived by a heuristic


def _no_empty_identifiers(value: dict[str, Scalar]) -> dict[str, Scalar]:
    for key, item in value.items():
        if item is None or (isinstance(item, str) and not item.strip()):
            raise ValueError(f"identifier {key!r} is empty")
    return value


class CIRef(BaseModel):
    """A CI named by class and identifying attributes (and its parent, if dependent)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    ci_class: str = Field(alias="class", min_length=1)
    identifiers: dict[str, Scalar] = Field(min_length=1)
    parent: CIRef | None = None

    _identifiers_set = field_validator("identifiers")(_no_empty_identifiers)


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method = Method.DECLARED
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class Observation(BaseModel):
    """One scanner's view of one CI in one scope at one time."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: Literal["ci"] = "ci"
    source: str = Field(min_length=1)
    scope: str = Field(min_length=1)
    ci_class: str = Field(alias="class", min_length=1)
    identifiers: dict[str, Scalar] = Field(min_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)
    parent: CIRef | None = None
    observed_at: int = Field(default_factory=now_ms, gt=0)

    _identifiers_set = field_validator("identifiers")(_no_empty_identifiers)

    def ref(self) -> CIRef:
        return CIRef(ci_class=self.ci_class, identifiers=self.identifiers, parent=self.parent)


class ObservedRelation(BaseModel):
    """One scanner's view of a relationship between two CIs named by their identifiers."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: Literal["rel"] = "rel"
    source: str = Field(min_length=1)
    scope: str = Field(min_length=1)
    type: str = Field(min_length=1)
    from_ci: CIRef = Field(alias="from")
    to_ci: CIRef = Field(alias="to")
    attributes: dict[str, Any] = Field(default_factory=dict)
    evidence: Evidence = Field(default_factory=Evidence)
    observed_at: int = Field(default_factory=now_ms, gt=0)


Item = Observation | ObservedRelation


def parse_item(raw: dict[str, Any]) -> Item:
    """Validate one decoded JSON object; raises pydantic.ValidationError naming the field."""
    kind = raw.get("kind", "ci") if isinstance(raw, dict) else None
    if kind == "rel":
        return ObservedRelation.model_validate(raw)
    return Observation.model_validate(raw)


def dump_item(item: Item) -> dict[str, Any]:
    return item.model_dump(by_alias=True, exclude_none=True, mode="json")
