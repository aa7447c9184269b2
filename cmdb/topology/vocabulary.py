"""Integer codes for classes, relationship types and evidence methods.

The topology index stores small integers instead of strings; this module derives
every table it needs (impact direction per type, redundancy groups per class) from
the schema, so nothing about impact semantics is restated by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from schema import ImpactDirection, MinUp, Schema

# Direction codes, per relationship type.
DIR_NONE = 0
DIR_TARGET_TO_SOURCE = 1
DIR_SOURCE_TO_TARGET = 2
DIR_BOTH = 3

_DIRECTION_CODE = {
    ImpactDirection.NONE: DIR_NONE,
    ImpactDirection.TARGET_TO_SOURCE: DIR_TARGET_TO_SOURCE,
    ImpactDirection.SOURCE_TO_TARGET: DIR_SOURCE_TO_TARGET,
    ImpactDirection.BOTH: DIR_BOTH,
}

#: Evidence methods whose edges count only at or above the caller's min_confidence.
UNCERTAIN_METHODS = frozenset({"traffic", "inferred"})
#: Effective confidence of a declared/config edge: passes any min_confidence <= 1.
CERTAIN = np.float32(2.0)

UNKNOWN_CLASS = "<unknown>"
METHODS = ("declared", "config", "traffic", "inferred", "other")


@dataclass(frozen=True)
class NetworkCodes:
    """The network layer's reading of the schema, as per-type and per-class tables."""

    read: NDArray[np.bool_]  # per type id: the network layer keeps these relationships
    link: NDArray[np.bool_]  # per type id
    attachment: NDArray[np.bool_]
    address: NDArray[np.bool_]
    containment: int  # type id, -1 when none
    device: NDArray[np.bool_]  # per class id
    interface: NDArray[np.bool_]
    host: NDArray[np.bool_]
    uplink_class: NDArray[np.bool_]

    @classmethod
    def from_schema(cls, schema: Schema, classes: tuple[str, ...], type_ids: dict[str, int]) -> NetworkCodes:
        spec = schema.network
        n_types = max(1, len(type_ids))

        def types(names: tuple[str, ...]) -> NDArray[np.bool_]:
            mask = np.zeros(n_types, np.bool_)
            for name in names:
                mask[type_ids[name]] = True
            return mask

        def kinds(names: tuple[str, ...]) -> NDArray[np.bool_]:
            mask = np.zeros(len(classes), np.bool_)
            for cid, name in enumerate(classes):
                ci_class = schema.classes.get(name)
                mask[cid] = ci_class is not None and any(ci_class.is_a(k) for k in names)
            return mask

        link, attachment, address = types(spec.links), types(spec.attachments), types(spec.addresses)
        containment = type_ids[spec.containment] if spec.containment else -1
        read = link | attachment | address
        if containment >= 0:
            read[containment] = True
        return cls(
            read=read, link=link, attachment=attachment, address=address, containment=containment,
            device=kinds(spec.device_classes), interface=kinds(spec.interface_classes),
            host=kinds(spec.host_classes), uplink_class=kinds(spec.uplink_classes),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.link.any())


@dataclass(frozen=True)
class Vocabulary:
    """Name <-> code tables and the per-code semantics the traversals need."""

    classes: tuple[str, ...]
    class_ids: dict[str, int]
    types: tuple[str, ...]
    type_ids: dict[str, int]
    directions: NDArray[np.int8]  # per type id
    group_table: NDArray[np.bool_]  # [class id, type id]: the type is in the class's redundancy group
    default_min_up: tuple[MinUp | None, ...]  # per class id
    service_classes: NDArray[np.bool_]  # per class id: family "service" (applications, business services)
    method_ids: dict[str, int]
    network: NetworkCodes

    @property
    def net_types(self) -> NDArray[np.bool_]:
        """Per type id: does the network layer read it (links, attachments, addresses, containment)?"""
        return self.network.read

    @classmethod
    def from_schema(cls, schema: Schema) -> Vocabulary:
        """Derive the code tables from a loaded schema."""
        classes = (*sorted(schema.classes), UNKNOWN_CLASS)
        class_ids = {name: i for i, name in enumerate(classes)}
        types = tuple(sorted(schema.relationships))
        type_ids = {name: i for i, name in enumerate(types)}
        directions = np.array([_DIRECTION_CODE[schema.relationships[t].impact] for t in types], dtype=np.int8)
        group_table = np.zeros((len(classes), max(1, len(types))), dtype=np.bool_)
        defaults: list[MinUp | None] = []
        service = np.zeros(len(classes), dtype=np.bool_)
        for cid, name in enumerate(classes):
            ci_class = schema.classes.get(name)
            if ci_class is None:
                defaults.append(None)
                continue
            service[cid] = ci_class.family == "service"
            red = ci_class.redundancy
            if red is None:
                defaults.append(None)
                continue
            defaults.append(red.default_min_up)
            for rel in red.relationships:
                group_table[cid, type_ids[rel]] = True
        return cls(
            classes=classes,
            class_ids=class_ids,
            types=types,
            type_ids=type_ids,
            directions=directions,
            group_table=group_table,
            default_min_up=tuple(defaults),
            service_classes=service,
            method_ids={m: i for i, m in enumerate(METHODS)},
            network=NetworkCodes.from_schema(schema, classes, type_ids),
        )

    def class_id(self, name: str) -> int:
        """The code of a class; classes the schema does not know share one code."""
        return self.class_ids.get(name, self.class_ids[UNKNOWN_CLASS])

    def method_id(self, method: str) -> int:
        return self.method_ids.get(method, self.method_ids["other"])

    def effective_confidence(self, method: str, confidence: float) -> float:
        """What a min_confidence filter compares: the confidence only for uncertain methods."""
        return float(confidence) if method in UNCERTAIN_METHODS else float(CERTAIN)

    def type_mask(self, rel_types: tuple[str, ...] | list[str] | frozenset[str] | None) -> NDArray[np.bool_]:
        """A per-type boolean mask: all types when ``rel_types`` is None."""
        mask = np.ones(max(1, len(self.types)), dtype=np.bool_)
        if rel_types is None:
            return mask
        mask[:] = False
        for name in rel_types:
            tid = self.type_ids.get(name)
            if tid is not None:
                mask[tid] = True
        return mask
