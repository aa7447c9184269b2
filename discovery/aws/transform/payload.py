"""Reading a scope payload (raw response pages keyed by ``service.operation``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Payload = dict[str, list[dict[str, Any]]]


def items(payload: Payload, key: str, field: str) -> list[dict[str, Any]]:
    """Every element of ``field`` over all pages of the call ``key``."""
    return [item for page in payload.get(key, []) for item in page.get(field, []) or []]


def with_request(payload: Payload, key: str, field: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(request parameters, element)`` for per-resource calls such as describe_target_health."""
    for page in payload.get(key, []):
        request = page.get("_request", {})
        for item in page.get(field, []) or []:
            yield request, item
