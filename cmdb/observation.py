"""The Observation contract between discovery and the CMDB.

Scanners (local or remote collectors) emit these objects and nothing else. They
name CIs by identifying attributes, never by store ids. Times are epoch
milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from enum import Enum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cmdb.errors import InvalidItem
from cmdb.storable import check_storable

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
    return _storable(value, "identifiers")


def _storable(value: dict[str, Any], prefix: str) -> dict[str, Any]:
    """What no store can encode (cmdb.storable) is refused here, as this item's own error."""
    if value:
        try:
            check_storable(value, prefix)
        except InvalidItem as exc:
            raise ValueError(str(exc)) from None
    return value


def _storable_attributes(value: dict[str, Any]) -> dict[str, Any]:
    return _storable(value, "attributes")


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
    # Hearsay: what the source says about a thing it did not scan itself (an LLDP/CDP
    # neighbour, an ARP entry). It ranks below that thing's own scan by the same source.
    hearsay: bool = False

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

    _attributes_storable = field_validator("attributes")(_storable_attributes)


Item = Observation | ObservedRelation

_SCALAR_TYPES = frozenset({str, int, float, bool})


_Model = TypeVar("_Model", bound=BaseModel)


def _prevalidated(model: type[_Model], values: dict[str, Any], fields_set: set[str]) -> _Model:
    """An instance of ``model`` holding ``values`` as they are: every value already validated
    (a template's) or checked by the caller by the field's rules; ``fields_set`` is shared."""
    instance = object.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", fields_set)
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def observe_many(
    ci_class: str,
    rows: Iterable[tuple[dict[str, Scalar], dict[str, Any]]],
    *,
    source: str,
    scope: str,
    observed_at: int,
    parent: CIRef | None = None,
) -> list[Observation]:
    """Observations of one class sharing source, scope, time and parent: one per (identifiers, attributes) row.

    For scanners that emit hundreds of CIs of one kind per scope (a host's packages). Each result
    equals what validating that row as an :class:`Observation` gives, built about twice as fast.
    The first row is validated in full; the following rows share its validated source, scope,
    class, time and parent (the same objects) and its set of given fields (frozen models never
    change it; ``model_copy`` copies it). A following row is checked in plain Python by the rules
    of the two fields that differ (identifiers: a non-empty ``dict`` of ``str`` keys to ``str``,
    ``int``, ``float`` or ``bool`` values, none blank; attributes: a ``dict`` with ``str`` keys),
    and its two dicts become the Observation's own (not copied: pass fresh dicts and do not keep
    them). A row that does not pass, or holds any other type (a subclass, an enum), is validated
    in full: bad input raises the same ``ValidationError``, naming the field, as
    ``Observation.model_validate``.
    """
    out: list[Observation] = []
    append, scalars = out.append, _SCALAR_TYPES
    shared: Observation | None = None
    template: dict[str, Any] = {}
    fields_set: set[str] = set()
    value: Any  # an identifier value, its type checked below before any use
    for identifiers, attributes in rows:
        if shared is not None and type(identifiers) is dict and identifiers and type(attributes) is dict:
            for key, value in identifiers.items():
                kind = type(value)
                if type(key) is not str or kind not in scalars or (kind is str and not value.strip()):
                    break
            else:
                for key in attributes:
                    if type(key) is not str:
                        break
                else:
                    values = template.copy()
                    values["identifiers"] = identifiers
                    values["attributes"] = attributes
                    append(_prevalidated(Observation, values, fields_set))
                    continue
        raw: dict[str, Any] = {"source": source, "scope": scope, "class": ci_class, "identifiers": identifiers,
                               "attributes": attributes, "observed_at": observed_at}
        if parent is not None:
            raw["parent"] = shared.parent if shared is not None else parent
        obs = Observation.model_validate(raw)
        if shared is None:
            shared = obs
            template = dict(obs.__dict__)  # field order, with the validated shared values
            fields_set = obs.__pydantic_fields_set__
        append(obs)
    return out


def relate_many(
    rel_type: str,
    ends: Iterable[tuple[CIRef, CIRef]],
    *,
    evidence: Evidence,
    source: str,
    scope: str,
    observed_at: int,
) -> list[ObservedRelation]:
    """Relations of one type sharing evidence, source, scope and time: one per (from, to) pair of references.

    The counterpart of :func:`observe_many` (same sharing, same guarantees): each result equals
    what validating that pair as an :class:`ObservedRelation` gives, without attributes (each gets
    its own empty dict, as the field's default). A following pair whose two ends are exactly
    :class:`CIRef` instances (validated when they were built; validation takes them as they are)
    is not validated again; any other pair is validated in full.
    """
    out: list[ObservedRelation] = []
    append = out.append
    shared: ObservedRelation | None = None
    template: dict[str, Any] = {}
    fields_set: set[str] = set()
    for from_ci, to_ci in ends:
        if shared is not None and type(from_ci) is CIRef and type(to_ci) is CIRef:
            values = template.copy()
            values["from_ci"] = from_ci
            values["to_ci"] = to_ci
            values["attributes"] = {}
            append(_prevalidated(ObservedRelation, values, fields_set))
            continue
        rel = ObservedRelation.model_validate({
            "type": rel_type, "from": from_ci, "to": to_ci, "source": source, "scope": scope,
            "observed_at": observed_at, "evidence": shared.evidence if shared is not None else evidence,
        })
        if shared is None:
            shared = rel
            template = dict(rel.__dict__)
            fields_set = rel.__pydantic_fields_set__
        append(rel)
    return out


def parse_item(raw: dict[str, Any]) -> Item:
    """Validate one decoded JSON object; raises pydantic.ValidationError naming the field."""
    kind = raw.get("kind", "ci") if isinstance(raw, dict) else None
    if kind == "rel":
        return ObservedRelation.model_validate(raw)
    return Observation.model_validate(raw)


def dump_item(item: Item) -> dict[str, Any]:
    return item.model_dump(by_alias=True, exclude_none=True, mode="json")
