"""Inputs of ``cis(filter: ...)``: class (with subclasses), attribute equality and ranges, text, lifecycle."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import strawberry

from cmdb.model import AttrFilter
from cmdb.model import Lifecycle as LifecycleModel
from cmdb.services.reads import CISearch
from graph_api.enums import CIClassName, Lifecycle
from graph_api.scalars import JSON


@strawberry.enum(description="Comparison of an attribute with a value.")
class FilterOp(Enum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    CONTAINS = "contains"


@strawberry.input(description="`attribute op value`, e.g. {attribute: \"cpu_count\", op: GE, value: 8}.")
class AttributeFilter:
    attribute: str
    op: FilterOp = FilterOp.EQ
    value: JSON


@strawberry.input(description="Every given condition must hold.")
class CIFilter:
    ci_class: Optional[CIClassName] = None  # noqa: UP045
    include_subclasses: bool = True
    text: Optional[str] = strawberry.field(default=None, description="Substring of the name or any attribute value.")  # noqa: UP045
    attributes: Optional[list[AttributeFilter]] = None  # noqa: UP045
    lifecycle: Optional[list[Lifecycle]] = None  # noqa: UP045

    def to_search(self, first: int, after: str | None) -> CISearch:
        return CISearch(
            ci_class=self.ci_class,
            include_subclasses=self.include_subclasses,
            text=self.text,
            filters=tuple(AttrFilter(f.attribute, f.op.value, f.value) for f in self.attributes or ()),
            statuses=tuple(LifecycleModel(s.value) for s in self.lifecycle or ()),
            first=first, after=after,
        )
