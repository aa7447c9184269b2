"""``POST /api/v1/collect``: a remote collector's observation batch becomes one scan run.

Body: ``{"source", "scope", "complete", "items": [Observation | ObservedRelation, ...]}``.
Answer: the run (id, status, counts) and per-item errors naming the field.

A collector token writes only the sources and scopes it is bound to (``cmdb.tokens``):
anything else is refused whole with 403 before a run starts, so a run it ends complete
ages only a scope it is bound to. The counts include what that ageing staled and retired.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cmdb.services.collect import CollectBatch
from cmdb.services.errors import InvalidQuery
from cmdb.tokens import Role
from graph_api.auth import Principal, authenticate, require
from graph_api.blocking import run_write
from graph_api.metrics import ApiMetrics
from graph_api.services import AppServices
from graph_api.settings import ApiSettings


class CollectBody(BaseModel):
    source: str = Field(min_length=1, max_length=100)
    scope: str = Field(min_length=1, max_length=500)
    complete: bool = False
    items: list[dict[str, Any]]


def collect_router(services: AppServices, settings: ApiSettings, metrics: ApiMetrics) -> APIRouter:
    router = APIRouter()

    def principal(request: Request) -> Principal:
        return authenticate(request, services.tokens)

    @router.post("/api/v1/collect")
    async def collect(body: CollectBody, who: Principal = Depends(principal)) -> JSONResponse:
        require(who, Role.COLLECTOR)
        # (an unknown source is the service's 422, a clearer answer than 403)
        if body.source in services.schema.sources and not who.may_write(body.source, body.scope):
            return _error(403, "FORBIDDEN", f"this token may not write source {body.source!r} in scope "
                                            f"{body.scope!r}; it is bound to sources {list(who.sources)} "
                                            f"and scopes {list(who.scopes)}")
        if len(body.items) > settings.max_collect_items:
            return _error(413, "REQUEST_TOO_LARGE", f"at most {settings.max_collect_items} items per batch")
        batch = CollectBatch(source=body.source, scope=body.scope, complete=body.complete, items=body.items)
        try:
            result = await run_write(services.collect.collect, batch)
        except InvalidQuery as exc:
            return _error(422, "INVALID_ARGUMENT", str(exc))
        run = result.run
        metrics.record_ingest(body.source, run.status.value, result.report)
        return JSONResponse({
            "run_id": run.run_id, "status": run.status.value,
            "counts": {**result.report.as_counts(), "stale": run.counts.get("stale", 0),
                       "retired": run.counts.get("retired", 0)},
            "errors": [{"index": e.index, "field": e.field, "message": e.message} for e in result.errors],
        })

    return router


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)
