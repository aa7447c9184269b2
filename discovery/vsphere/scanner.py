"""The vSphere scanner: one vCenter is one scope (source ``vsphere``).

pyvmomi is synchronous: the collection runs in a worker thread while the event
loop stays free. A login refused, a certificate not trusted, a vCenter that does
not answer, or a session lost twice ends the scope ``incomplete`` with the
reason (whatever was collected before a loss is still ingested, and nothing is
aged). One object vCenter could not return, or that has no identifier, is
reported and skipped, and the run is incomplete so nothing ages on its account.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from cmdb.observation import now_ms
from discovery.base import Progress, ProgressHook, ScopeResult
from discovery.vsphere.client import ConnectSettings, SessionLost, VsphereClient, VsphereError
from discovery.vsphere.transform import transform_inventory


@dataclass(frozen=True, slots=True)
class VsphereScanConfig:
    """One vCenter to read, and the addressing scope its guests' IP addresses belong to."""

    connect: ConnectSettings
    network_scope: str = "global"  # the same default as the SSH scanner, so a guest's addresses are one CI

    @property
    def scope(self) -> str:
        return self.connect.server


class VsphereScanner:
    """``discovery.base.Scanner`` for a vCenter (or a standalone ESXi host)."""

    source = "vsphere"

    def __init__(self, config: VsphereScanConfig) -> None:
        self.config = config

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        """Yield the vCenter's one ScopeResult."""
        result = await asyncio.to_thread(self.scan_sync, progress)
        yield result

    def scan_sync(self, progress: ProgressHook | None = None) -> ScopeResult:
        """Collect and transform the whole inventory (blocking)."""
        scope = self.config.scope
        observed_at = now_ms()
        seen = 0

        def on_page(objects: int) -> None:
            nonlocal seen
            seen += objects
            if progress is not None:
                progress(Progress(scope, seen, None, f"{seen} objects"))

        client = VsphereClient(self.config.connect, on_page=on_page)
        errors: list[str] = []
        payload: dict[str, Any] | None = None
        try:
            client.login()
            payload = client.collect()
        except SessionLost as exc:
            errors.append(f"incomplete: {exc}")
            payload = client.partial
        except VsphereError as exc:
            errors.append(str(exc))
        except Exception as exc:  # the connection dropped mid-sweep, an answer pyvmomi could not parse
            errors.append(f"collection failed: {type(exc).__name__}: {exc}")
            payload = client.partial
        finally:
            client.logout()
        stats = {"api_calls": client.calls, "relogins": client.relogins}
        if payload is None:
            return ScopeResult(scope, [], complete=False, errors=errors, stats=stats, started_at=observed_at,
                               finished_at=now_ms())
        transformed = transform_inventory(payload, scope, observed_at, self.config.network_scope)
        errors.extend(transformed.errors)
        stats.update(transformed.counts)
        stats["items"] = len(transformed.items)
        if progress is not None:
            progress(Progress(scope, seen, seen, "complete" if not errors else "incomplete"))
        return ScopeResult(scope, transformed.items, complete=not errors, errors=errors, stats=stats,
                           started_at=observed_at, finished_at=now_ms())
