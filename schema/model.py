"""Typed, immutable description of the CMDB's data model.

Everything else in the project (store DDL, GraphQL enums, validation, impact
semantics) is derived from these objects; nothing restates them by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class AttrType(str, Enum):
    """Primitive attribute types a CI may carry (all storable in every backend)."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIMESTAMP = "timestamp"  # epoch milliseconds
    STRING_LIST = "string_list"
    JSON = "json"  # nested value, stored as a JSON string in graph backends


class ImpactDirection(str, Enum):
    """How a failure travels along ``A -[T]-> B``.

    ``TARGET_TO_SOURCE``: a failure of B impacts A (RUNS_ON, DEPENDS_ON, HOSTED_ON).
    ``SOURCE_TO_TARGET``: a failure of A impacts B (CONTAINS: the container impacts
    what it contains).
    ``BOTH``: a physical link propagates both ways (CONNECTS_TO).
    ``NONE``: informational; never propagates.
    """

    TARGET_TO_SOURCE = "target_to_source"
    SOURCE_TO_TARGET = "source_to_target"
    BOTH = "both"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class AttributeDef:
    name: str
    type: AttrType
    description: str = ""
    indexed: bool = False
    sensitive: bool = False  # never stored (cmdb.redact): a secret a source may report, e.g. EC2 user data
    # A current value only (uptime, usage, counters): stored with its observation time,
    # never a history entry, so a rescan of an unchanged estate writes no history.
    volatile: bool = False


@dataclass(frozen=True, slots=True)
class IdentifierRule:
    """One attribute set tried when identifying a CI, in the order declared.

    ``owner`` is the class that declared the rule: its subtree is where matches
    are looked for, so a ``host`` observation can find a ``cloud_instance``.
    """

    owner: str
    index: int
    attributes: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.owner}#{self.index}:{'+'.join(self.attributes)}"


@dataclass(frozen=True, slots=True)
class Dependency:
    """A dependent class is identified inside its parent, reached through ``relationship``.

    The parent is the relationship's source: ``parent -[relationship]-> child``.
    """

    relationship: str
    parent_classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MinUp:
    """How many inputs of a redundancy group must stay up: a count or a percentage."""

    value: float
    percent: bool = False

    @classmethod
    def parse(cls, raw: str | int | float) -> MinUp:
        text = str(raw).strip()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text)
        if not match:
            raise ValueError(f"min_up must be a count like '2' or a percentage like '66%', got {raw!r}")
        number = float(match.group(1))
        percent = match.group(2) == "%"
        if percent and not 0 < number <= 100:
            raise ValueError(f"min_up percentage must be in (0, 100], got {raw!r}")
        if not percent and (number < 1 or number != int(number)):
            raise ValueError(f"min_up count must be a whole number >= 1, got {raw!r}")
        return cls(number, percent)

    def required(self, group_size: int) -> int:
        """The number of inputs that must be up, out of ``group_size``."""
        if self.percent:
            # ceil without floats drifting: 66% of 3 -> 1.98 -> 2
            needed = -(-round(self.value * group_size * 100) // 10000)
            return max(1, min(group_size, needed))
        return min(group_size, int(self.value))

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{int(self.value)}"


@dataclass(frozen=True, slots=True)
class Redundancy:
    """A class's inputs over ``relationships`` form one redundancy group.

    A CI of the class may override ``default_min_up`` with its ``min_up`` attribute.
    """

    relationships: tuple[str, ...]
    default_min_up: MinUp


@dataclass(frozen=True, slots=True)
class Aging:
    stale_after_runs: int = 2
    retire_after_runs: int = 4
    ttl_days: float | None = None


@dataclass(frozen=True, slots=True)
class CIClass:
    name: str
    parent: str | None
    abstract: bool
    description: str
    attributes: dict[str, AttributeDef]  # own and inherited
    identifiers: tuple[IdentifierRule, ...]  # effective, in priority order
    identity_root: str  # namespace of identification keys
    dependency: Dependency | None
    redundancy: Redundancy | None
    aging: Aging
    family: str  # coarse grouping for the API (device, network, software, ...)
    ancestors: tuple[str, ...] = field(default=())  # nearest first, excluding self

    def is_a(self, other: str) -> bool:
        return self.name == other or other in self.ancestors


@dataclass(frozen=True, slots=True)
class RelationshipType:
    name: str
    description: str
    sources: tuple[str, ...]  # allowed source classes (subclasses allowed)
    targets: tuple[str, ...]
    impact: ImpactDirection
    # Attributes whose value is the sorted union of what every report said (a link's
    # protocol: one end reports lldp, the other cdp): a set, never a flapping value.
    set_attributes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SourceDef:
    """A discovery source: its precedence, staleness window and create rights."""

    name: str
    priority: int
    staleness_days: float
    may_create: tuple[str, ...]  # class names (subtrees); "*" for all
