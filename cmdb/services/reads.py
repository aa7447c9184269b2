"""Lookup, search, neighbours, history and scan runs: the read side over a GraphStore."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cmdb.model import CI, AttrFilter, CIQuery, HistoryEntry, Lifecycle, Page, Relationship, ScanRun
from cmdb.services.errors import InvalidQuery
from cmdb.store.protocol import Direction, GraphStore
from schema import Schema

PAGE_CAP = 500  # hard cap on one page of CIs, whatever the caller asks
FILTER_OPS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "contains"})


# Text filters match with LIKE: SQLite refuses patterns past 50,000 bytes ("LIKE or GLOB pattern
# too complex"), an unexpected error; 1,000 characters stay below it even escaped, 4 bytes each.
MAX_PATTERN_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class CISearch:
    """What ``cis(filter, first, after)`` asks: class (with subclasses), attributes, text, status."""

    ci_class: str | None = None
    include_subclasses: bool = True
    text: str | None = None
    filters: tuple[AttrFilter, ...] = ()
    statuses: tuple[Lifecycle, ...] = ()
    first: int = 50
    after: str | None = None


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A relationship seen from one CI: the other end and which way the edge points."""

    relationship: Relationship
    other_uid: str
    outgoing: bool


class ReadService:
    """The read use cases; every method is one or a few batched store calls."""

    def __init__(self, store: GraphStore, schema: Schema, page_cap: int = PAGE_CAP) -> None:
        self.store = store
        self.schema = schema
        self.page_cap = page_cap
        self._attributes = frozenset(a for c in schema.classes.values() for a in c.attributes)

    # -- lookups -------------------------------------------------------------------------
    def get_cis(self, uids: Collection[str]) -> dict[str, CI]:
        return self.store.get_cis(uids)

    def check_types(self, types: Sequence[str] | None) -> tuple[str, ...]:
        for name in types or ():
            if name not in self.schema.relationships:
                raise InvalidQuery("types", f"unknown relationship type {name!r}")
        return tuple(types or ())

    def check_class(self, name: str) -> None:
        if name not in self.schema.classes:
            raise InvalidQuery("class", f"unknown CI class {name!r}")

    # -- search --------------------------------------------------------------------------
    def search(self, request: CISearch) -> Page:
        """One page of CIs, ordered by uid; ``first`` is clamped to the page cap."""
        if request.first < 0:
            raise InvalidQuery("first", "must be >= 0")
        classes: tuple[str, ...] = ()
        if request.ci_class is not None:
            self.check_class(request.ci_class)
            classes = (
                tuple(sorted(self.schema.subtree(request.ci_class)))
                if request.include_subclasses else (request.ci_class,)
            )
        for flt in request.filters:
            if flt.attribute not in self._attributes:
                raise InvalidQuery("filter.attributes", f"no CI class has an attribute {flt.attribute!r}")
            if flt.op not in FILTER_OPS:
                raise InvalidQuery("filter.attributes", f"unknown operator {flt.op!r}")
            if not isinstance(flt.value, str | int | float | bool):
                raise InvalidQuery("filter.attributes", f"the value for {flt.attribute!r} must be a string, number or boolean")
            if isinstance(flt.value, str) and len(flt.value) > MAX_PATTERN_CHARS:
                raise InvalidQuery("filter.attributes", f"the value for {flt.attribute!r} is longer than "
                                                        f"{MAX_PATTERN_CHARS} characters")
        text = request.text.strip() if request.text else None
        if text is not None and len(text) > MAX_PATTERN_CHARS:
            raise InvalidQuery("filter.text", f"longer than {MAX_PATTERN_CHARS} characters")
        query = CIQuery(
            classes=classes, text=text or None, filters=request.filters, statuses=request.statuses,
            after=request.after, limit=min(request.first, self.page_cap),
        )
        return self.store.search(query)

    # -- neighbours ----------------------------------------------------------------------
    def neighbours_of(
        self, uids: Collection[str], direction: Direction, types: Sequence[str] | None,
    ) -> dict[str, list[Neighbour]]:
        """Neighbours of many CIs in one store call, grouped per CI (edges in uid order)."""
        wanted = set(uids)
        rels = self.store.neighbours(wanted, direction, self.check_types(types) or None)
        grouped: dict[str, list[Neighbour]] = {uid: [] for uid in wanted}
        for rel in rels:
            if rel.source_uid in wanted and direction is not Direction.IN:
                grouped[rel.source_uid].append(Neighbour(rel, rel.target_uid, True))
            if rel.target_uid in wanted and direction is not Direction.OUT:
                grouped[rel.target_uid].append(Neighbour(rel, rel.source_uid, False))
        return grouped

    # -- history and runs ----------------------------------------------------------------
    def history(self, uid: str, limit: int = 1000) -> list[HistoryEntry]:
        return self.store.history(uid, limit=max(1, min(limit, 10_000)))

    def runs(self, source: str | None = None, scope: str | None = None, limit: int = 50,
             job: str | None = None) -> list[ScanRun]:
        return self.store.list_runs(source=source, scope=scope, limit=max(1, min(limit, self.page_cap)), job=job)

    def attribute_names(self) -> frozenset[str]:
        return self._attributes
