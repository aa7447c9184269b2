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


class Strength(str, Enum):
    """What an identifying attribute says about the thing it names.

    ``STRONG``: never moves to another thing (serial, machine-id, instance id, DMI UUID).
    ``NAME``: unique only within a scope (a domain, an account, a device) and reusable
    once its thing is gone (FQDN, sysName, zone name, interface name).
    ``LOCATOR``: identifies only within its network or host, and only for a while
    (IP address, if_index, a listening port's number).
    """

    STRONG = "strong"
    NAME = "name"
    LOCATOR = "locator"


class Normaliser(str, Enum):
    """A step applied to an attribute's value before identification and storage.

    ``vocabulary`` maps synonyms to one canonical term through a vocabulary the
    catalog declares (``normalise: [lower, {vocabulary: product}]``).
    """

    TRIM = "trim"  # surrounding whitespace dropped, inner runs collapsed to one space
    LOWER = "lower"
    UPPER = "upper"
    TRAILING_DOT = "trailing_dot"  # ``example.com.`` -> ``example.com``
    MAC = "mac"  # any of aa:bb.., AA-BB-.., aabb.ccdd.eeff, aabbccddeeff -> aa:bb:cc:dd:ee:ff
    SERIAL = "serial"  # trimmed, upper case, inner spaces dropped; placeholder serials dropped
    VOCABULARY = "vocabulary"


@dataclass(frozen=True, slots=True)
class AttributeDef:
    name: str
    type: AttrType
    description: str = ""
    indexed: bool = False
    identity: Strength | None = None  # declared for every attribute an identifier rule names
    normalise: tuple[tuple[Normaliser, str | None], ...] = ()  # (step, vocabulary name for VOCABULARY)
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
    # Attributes a match through this rule must not contradict: a name is unique
    # only within them (a hostname within its domain, a zone within its account and
    # visibility). A side without a scope value contradicts nothing.
    scope: tuple[str, ...] = ()
    strength: Strength = Strength.STRONG  # the weakest strength of its attributes

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
    # A generic class (an LLDP/CDP neighbour's ``network_device``) may be refined to
    # any concrete class of its family by a source that may create that class.
    generic: bool = False

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


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """How the network layer is read: connectivity, not propagation.

    ``links``: relationship types that are physical/logical links (device or interface
    ends). ``attachments``: forwarding/ARP evidence that a port reaches an address or
    interface (``SEEN_BEHIND``), joined with ``addresses`` (``HAS_ADDRESS``) to the
    host holding it. ``containment``: device -> interface. ``uplink_classes``: CIs
    of these classes (and subclasses) are uplinks unless they carry
    ``uplink_attribute`` false; a network component (a site) in which some CI carries
    it true uses exactly those.
    """

    links: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    containment: str | None = None
    uplink_classes: tuple[str, ...] = ()
    uplink_attribute: str = "uplink"
    host_classes: tuple[str, ...] = ()
    interface_classes: tuple[str, ...] = ()
    device_classes: tuple[str, ...] = ()

