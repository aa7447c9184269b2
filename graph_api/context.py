"""The typed per-request context, built by a FastAPI dependency: principal and fresh loaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from strawberry.fastapi import BaseContext

from graph_api.auth import Principal, authenticate, bearer
from graph_api.loaders import Loaders
from graph_api.services import AppServices
from graph_api.settings import ApiSettings


class ApiContext(BaseContext):
    """What every resolver may use: who asks, the use cases, and this request's loaders."""

    def __init__(self, principal: Principal | None, services: AppServices, settings: ApiSettings) -> None:
        super().__init__()
        self.principal = principal
        self.services = services
        self.settings = settings
        self.loaders = Loaders(services.reads)


def _is_ide_page(request: Request) -> bool:
    """A browser asking for the GraphiQL page (no operation in it): the only unauthenticated GET."""
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
        and bearer(request) is None
    )


def context_dependency(services: AppServices, settings: ApiSettings) -> Callable[[Request], Awaitable[ApiContext]]:
    """The FastAPI dependency strawberry's router calls once per request."""

    async def get_context(request: Request) -> ApiContext:
        if settings.graphiql and _is_ide_page(request):
            return ApiContext(None, services, settings)
        principal = authenticate(request, services.tokens)
        return ApiContext(principal, services, settings)

    return get_context
