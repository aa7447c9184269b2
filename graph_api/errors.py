"""Typed errors of the API.

Queries report expected failures as GraphQL errors carrying ``extensions.code``
(``NOT_FOUND``, ``INVALID_ARGUMENT``, ``NOT_CONFIGURED``, ``FORBIDDEN``);
mutations return them as members of their result unions (``*Error`` types).
Anything else is masked as "Unexpected error." and logged.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import StrawberryGraphQLError

from cmdb.errors import CmdbError, NotFound
from cmdb.impact.errors import ImpactError, UnknownCI
from cmdb.redact import redact_text
from cmdb.services.errors import EditRejected, InvalidQuery, NotConfigured

log = logging.getLogger(__name__)


class DomainError(StrawberryGraphQLError):
    """An expected failure, reported with a stable ``extensions.code``."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": code, **extra})


def as_domain_error(exc: Exception) -> DomainError | None:
    """The typed form of a domain exception, or None for an unexpected one."""
    if isinstance(exc, NotFound | UnknownCI):
        return DomainError("NOT_FOUND", str(exc))
    if isinstance(exc, InvalidQuery | EditRejected):
        return DomainError("INVALID_ARGUMENT", str(exc), field=exc.field)
    if isinstance(exc, NotConfigured):
        return DomainError("NOT_CONFIGURED", str(exc))
    if isinstance(exc, ImpactError | CmdbError):
        return DomainError("INVALID_ARGUMENT", str(exc))
    return None


def expected(error: GraphQLError) -> bool:
    """A refusal (syntax, validation, a limit, a typed domain error) rather than a failure of ours."""
    original = error.original_error
    return original is None or isinstance(original, StrawberryGraphQLError | GraphQLError)


def should_mask(error: GraphQLError) -> bool:
    """Mask everything except validation errors and our typed errors (``log_errors`` logs them)."""
    return not expected(error)


def log_errors(errors: list[GraphQLError]) -> None:
    """Refusals as one line each at info (any token holder can cause them: no tracebacks to flood
    the log with); unexpected errors at error with their traceback."""
    for error in errors:
        if expected(error):
            code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION")
            message = redact_text(" ".join(error.message.split()))  # it may quote a value the request sent
            log.info("request refused: %s: %s", code, message[:300] + ("..." if len(message) > 300 else ""))
        else:
            log.error("unexpected error in resolver at %s", ".".join(map(str, error.path or ())) or "-",
                      exc_info=error.original_error)


# -- mutation result members --------------------------------------------------------------
@strawberry.type(description="The named CI or relationship does not exist.")
class NotFoundError:
    message: str
    key: str


@strawberry.type(description="An input the schema or the reconciliation rules refuse; `field` names it.")
class ValidationError:
    message: str
    field: str


@strawberry.type(description="This server was started without the capability (e.g. the discovery scheduler).")
class NotConfiguredError:
    message: str
    capability: str


MutationError = NotFoundError | ValidationError | NotConfiguredError
T = TypeVar("T")


def mutation_error(exc: Exception) -> MutationError | None:
    if isinstance(exc, NotFound):
        return NotFoundError(message=str(exc), key=exc.key)
    if isinstance(exc, InvalidQuery | EditRejected):
        return ValidationError(message=exc.message, field=exc.field)
    if isinstance(exc, NotConfigured):
        return NotConfiguredError(message=str(exc), capability=exc.what)
    return None


def present(result: T | None) -> T:
    """The result of a mutation helper that returned no typed error (they return one or the other)."""
    if result is None:
        raise AssertionError("a mutation returned neither a result nor a typed error")
    return result
