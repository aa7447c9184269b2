"""Query ``duplicates`` and the mutations ``mergeCis`` / ``unmergeCi`` (editor role)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from cmdb.services.merges import MergeResult, SuspectedDuplicate
from graph_api.auth import CanEdit, CanView
from graph_api.blocking import run_blocking, run_write
from graph_api.cis.types import CI, ci_type
from graph_api.context import ApiContext
from graph_api.errors import NotFoundError, ValidationError, mutation_error
from graph_api.fields import mutation, resolver


@strawberry.type(description="Active CIs holding one identification key, with the evidence.")
class DuplicateGroup:
    uids: list[strawberry.ID] = strawberry.field(description="Oldest first.")
    classes: list[str]
    names: list[str]
    evidence: list[str] = strawberry.field(description="Each shared key as `rule = value`.")
    separated: bool = strawberry.field(
        description="A strong identifier (or a name's scope) differs: one name reused by two things, not one thing.")
    separated_by: list[str]

    @classmethod
    def of(cls, d: SuspectedDuplicate) -> DuplicateGroup:
        return cls(uids=[strawberry.ID(u) for u in d.uids], classes=list(d.classes), names=list(d.names),
                   evidence=list(d.evidence), separated=d.separated, separated_by=list(d.separated_by))


@strawberry.type(description="The two CIs after a merge (`other` absorbed) or an unmerge (`other` restored).")
class MergePayload:
    kept: CI
    other: CI
    run_id: str


MergeOutcome = Annotated[MergePayload | NotFoundError | ValidationError, strawberry.union("MergeOutcome")]


def _payload(result: MergeResult) -> MergePayload:
    return MergePayload(kept=ci_type(result.kept), other=ci_type(result.other), run_id=result.run_id)


async def _write(fn: Callable[..., MergeResult], *args: str) -> MergePayload | NotFoundError | ValidationError:
    try:
        return _payload(await run_write(fn, *args))
    except Exception as exc:
        typed = mutation_error(exc)
        if isinstance(typed, NotFoundError | ValidationError):
            return typed
        raise


@strawberry.type
class MergeQueries:
    @resolver(description="Suspected duplicates estate-wide: active CIs sharing an identification key.",
              permission_classes=[CanView])
    async def duplicates(self, info: Info[ApiContext, None], first: int = 100) -> list[DuplicateGroup]:
        first = max(1, min(first, info.context.settings.page_cap))
        found = await run_blocking(info.context.services.merges.duplicates, first)
        return [DuplicateGroup.of(d) for d in found]


@strawberry.type
class MergeMutations:
    @mutation(description="Merge `other` into `keep`: one real thing. Refused when a strong identifier "
                          "separates them.", permission_classes=[CanEdit])
    async def merge_cis(self, info: Info[ApiContext, None], keep: strawberry.ID,
                        other: strawberry.ID) -> MergeOutcome:
        return await _write(info.context.services.merges.merge, str(keep), str(other))

    @mutation(description="Undo the merge that absorbed `uid`.", permission_classes=[CanEdit])
    async def unmerge_ci(self, info: Info[ApiContext, None], uid: strawberry.ID) -> MergeOutcome:
        return await _write(info.context.services.merges.unmerge, str(uid))
