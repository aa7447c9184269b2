"""The FastAPI application factory: GraphQL (with GraphiQL), /healthz, /metrics, the collector endpoint and /ui."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from cross_web import HTTPException as RequestRefused  # what strawberry's view answers as a 4xx
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.types import ExecutionResult

from cmdb.impact import ImpactService
from cmdb.ingest import Ingestor
from cmdb.store.change_feed import ChangeFeedStore
from cmdb.store.protocol import GraphStore
from cmdb.tokens import Role, TokenService, TokenStore
from cmdb.topology.follower import ChangeFollower
from graph_api.auth import authenticate, require
from graph_api.blocking import configure as configure_blocking
from graph_api.change_log import (
    SCOPE_KEY,
    Following,
    bad_position,
    not_reached,
    position_of,
    reach,
    requested_position,
)
from graph_api.collect import collect_router
from graph_api.context import ApiContext, context_dependency
from graph_api.limits import BodyLimit
from graph_api.metrics import ApiMetrics
from graph_api.result_cache import CACHE_HEADER, ResultCache
from graph_api.schema import build_schema
from graph_api.services import AppServices, DiscoveryTrigger, JobStatusSource
from graph_api.settings import ApiSettings, get_api_settings
from graph_api.web import graphiql_page, ui_routes
from schema import Schema


class _GraphQLApp(GraphQL[ApiContext, None]):
    """strawberry's ASGI view on a plain Starlette route (not the FastAPI router: its dependency
    injection cost ~0.4 ms a request), answering with orjson (~4x faster than json on a
    237-CI impact report). The context is the same typed ApiContext the router built."""

    def __init__(self, schema: Any, context_getter: Callable[[Request], Awaitable[ApiContext]], graphiql: bool,
                 cache: ResultCache | None, follower: ChangeFollower, max_wait: float) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=True,
                         subscription_protocols=())
        self._context_getter = context_getter
        self._cache = cache
        self._follower = follower
        self._max_wait = max_wait

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Any,
                             root_value: Any, request_data: Any) -> Any:
        # A minimum change-log position asked for in the request's extensions (the header's is
        # honoured before the app, graph_api.change_log.Following): caught up to before anything runs.
        wanted = requested_position(request_data.extensions)
        if isinstance(wanted, str):
            raise HTTPException(400, detail=bad_position(wanted))
        if wanted is not None:
            if not await reach(self._follower, wanted, self._max_wait):
                raise HTTPException(503, detail=not_reached(self._follower, wanted, self._max_wait),
                                    headers={"Retry-After": "1"})
            request.scope[SCOPE_KEY] = max(position_of(request.scope) or 0, self._follower.position)
        # A kept answer is served before strawberry builds an execution (about half the cost of
        # a hit). Only answers the CachedResults extension stored are found: it alone decides
        # what is cacheable, after parsing and validation; the key includes the caller's role.
        if self._cache is not None:
            data = self._cache.lookup(request_data.query, request_data.operation_name, request_data.variables, context)
            if data is not None:
                sub_response.headers[CACHE_HEADER] = "hit"
                return ExecutionResult(data=data, errors=None)
        return await super().execute_single(request=request, request_adapter=request_adapter,
                                            sub_response=sub_response, context=context, root_value=root_value,
                                            request_data=request_data)

    async def get_context(self, request: Any, response: Any) -> ApiContext:
        context = await self._context_getter(request)  # raises Unauthenticated (HTTP 401)
        context.request, context.response = request, response
        return context

    def parse_json(self, data: str | bytes) -> Any:
        """The request body (or a GET parameter) as JSON; anything orjson refuses is a 400: invalid
        JSON or UTF-8, lone surrogates, nesting past 1,024 levels (json.loads would recurse until
        RecursionError, a 500). A body that is JSON but not an object (or a batch) is a 400 too."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise RequestRefused(400, f"Unable to parse request body as JSON: {exc.msg}") from None
        if not isinstance(value, dict | list):
            raise RequestRefused(400, "The request body must be a JSON object.")
        return value

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        # GET ?variables=null means none, as in a body; parse_json takes only objects
        kept = {k: v for k, v in dict(params).items() if not (k in ("variables", "extensions") and v == "null")}
        return super().parse_query_params(kept)

    async def parse_http_body(self, request: Any) -> Any:
        parsed = await super().parse_http_body(request)
        for item in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(item.operation_name, str | None):
                raise RequestRefused(400, "The GraphQL operation's `operationName` must be a string or null, "
                                          "if provided.")
        return parsed

    async def render_graphql_ide(self, request: Any) -> Any:
        # The self-hosted GraphiQL (graph_api.web), not strawberry's page, which loads from a CDN.
        return graphiql_page()

    async def process_result(self, request: Any, result: Any) -> Any:
        response = await super().process_result(request, result)
        position = position_of(request.scope)
        if position is not None:  # the change-log position the answer reflects (at least)
            extensions: dict[str, object] = dict(response.get("extensions") or {})
            extensions["changeLog"] = {"position": position}
            response["extensions"] = extensions
        return response

    def encode_json(self, data: object) -> bytes | str:
        try:
            return orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError, e.g. an integer beyond 64 bits in a JSON attribute
            return json.dumps(data, separators=(",", ":"))


def create_app(
    store: GraphStore,
    schema: Schema,
    token_store: TokenStore,
    settings: ApiSettings | None = None,
    ingestor: Ingestor | None = None,
    trigger_discovery: DiscoveryTrigger | None = None,
    refresh: Callable[[], object] | None = None,
    liveness: Callable[[], list[dict[str, Any]] | None] | None = None,
    job_status: JobStatusSource | None = None,
    scheduler_health: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
    change_log: ChangeFollower | None = None,
) -> Any:
    """Build the ASGI app over a store.

    ``change_log``: the follower of the store's change log that keeps the app's topology index
    (impact, dependencies, paths) and its result cache current. It is the only way a change
    reaches them, whoever wrote it, this process included (one path, one order). Answers carry
    its position, and requests may ask for one (``graph_api.change_log``). Without one (library
    use), the app loads a follower from ``store`` and catches it up before each request.
    ``ingestor``: the ingestor of the app's writes (mutations, collector batches); the follower's
    ``after_apply`` is added to its listeners if it is not there, so an answer reflects the write
    it made. Without one, one is built so.
    ``trigger_discovery``: runs a named discovery job (the scheduler's); without it
    ``triggerDiscovery`` returns NotConfiguredError.
    ``refresh``: called before each HTTP request is handled (the follower's ``catch_up``, so an
    answer reflects every write committed before the request came); with a network store a
    server relies on the follower's background thread instead (``ChangeFollower.follow``).
    ``liveness``: every worker's liveness when served by several workers (``/healthz`` reports it).
    ``job_status``: every discovery job's status (the ``jobStatus`` query); without it NOT_CONFIGURED.
    ``scheduler_health``: whether the scheduler running in this process is alive, and its details
    (``/healthz`` reports it, and answers 503 when it is not).
    Returns the FastAPI app wrapped in the body-size limit (an ASGI app).
    """
    settings = settings or get_api_settings()
    configure_blocking(settings.store_threads)
    if change_log is None:
        if not isinstance(store, ChangeFeedStore):
            raise TypeError(f"{type(store).__name__} keeps no change log: the app's index could not follow it")
        change_log = ChangeFollower.load(store, schema)
        if refresh is None:
            refresh = change_log.catch_up
    if ingestor is None:
        ingestor = Ingestor(store, schema)
    if change_log.after_apply not in ingestor.listeners:
        ingestor.listeners.append(change_log.after_apply)
    follower, index = change_log, change_log.index
    services = AppServices.build(
        store=store, schema=schema, tokens=TokenService(token_store), ingestor=ingestor,
        impact=ImpactService(index, schema),
        trigger_discovery=trigger_discovery, page_cap=settings.page_cap,
    )
    services.job_status = job_status
    metrics = ApiMetrics()
    app = FastAPI(title="cmdb-graph", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.state.metrics = metrics

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"errors": [{"message": f"{where}: {first.get('msg')}",
                                         "extensions": {"code": "INVALID_ARGUMENT"}}]}, status_code=422)

    cache = None
    if settings.result_cache_size > 0:
        cache = ResultCache(index.view, settings.result_cache_size, settings.result_cache_items,
                            outcomes=metrics.result_cache)
    graphql = _GraphQLApp(build_schema(settings, schema, cache, metrics.graphql_operations),
                          context_dependency(services, settings), settings.graphiql, cache, follower,
                          settings.min_position_wait_s)
    app.router.routes.append(Route("/graphql", graphql, methods=["GET", "POST"]))
    app.include_router(collect_router(services, settings, metrics))
    app.router.routes.extend(ui_routes())

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        health: dict[str, Any] = {"status": "ok", "impact": services.impact is not None, "worker": os.getpid(),
                                  "log_position": follower.position}
        workers = liveness() if liveness is not None else None
        if workers is not None:
            health["workers"] = workers
        if scheduler_health is not None:
            # The scheduler runs in this process: a dead or stuck one makes the process unhealthy.
            alive, details = scheduler_health()
            health["scheduler"] = details
            if not alive:
                health["status"] = "unhealthy"
                return JSONResponse(health, status_code=503)
        return JSONResponse(health)

    @app.get("/metrics")
    async def metrics_endpoint(request: Request) -> Response:
        if not settings.metrics_public:
            require(authenticate(request, services.tokens), Role.VIEWER)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    limited = BodyLimit(_GraphQLFirst(app, graphql),
                        {"/graphql": settings.max_query_bytes, "/api/v1/collect": settings.max_collect_bytes})
    return metrics.wrap(Following(limited, follower, refresh, settings.min_position_wait_s))


def _error_response(exc: HTTPException) -> JSONResponse:
    body = exc.detail if isinstance(exc.detail, dict) else {"errors": [{"message": str(exc.detail)}]}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


class _GraphQLFirst:
    """``/graphql`` straight to strawberry's view; every other path through FastAPI.

    FastAPI's middleware stack and router cost ~0.1 ms a request (~5% of an impact query's).
    The one exception the view lets out on purpose, ``Unauthenticated`` (an HTTPException),
    is answered here as FastAPI's handler above answers it; anything else goes on to the
    server, which answers 500. (The route stays registered in FastAPI too, for its own
    tooling; requests never reach it.)
    """

    def __init__(self, app: Any, graphql: Any) -> None:
        self._app = app
        self._graphql = graphql

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self._app(scope, receive, send)
            return
        try:
            await self._graphql(scope, receive, send)
        except HTTPException as exc:
            await _error_response(exc)(scope, receive, send)
