"""What every scanner provides: scopes of observations, and nothing that writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from cmdb.observation import Item


@dataclass(slots=True)
class ScopeResult:
    """Everything a scanner saw in one scope (an AWS account+region, a seed list, a host list).

    ``complete`` is False when any part of the scope failed: then nothing in the
    scope is aged. ``errors`` say, per failing target, what went wrong. ``warnings``
    say, per target, what was read but could not all be used (rows on a port the
    device does not list): logged and kept with the run, they leave it complete.
    ``silent``: the scope's target did not answer at all (a host unreachable):
    nothing ages for missing this run, but what the scope holds goes stale once
    nobody has seen it for longer than its class's TTL.
    ``parts``: this scope is an inventory whose parts are the scopes
    ``<scope>/<part>`` (one per host or device); a part the store still holds that
    is not listed was removed from the inventory, and its run ages what it held.
    Set it only when the listing is whole (every part the scope may hold, answering
    or not): it is acted on even when the scope's own items are incomplete.
    ``started_at``/``finished_at``: when the scanner started and stopped looking at
    this scope (epoch ms). A scanner that does not say gets the scan's start and the
    time the scope was handed over (``stamp``), which bound it.
    """

    scope: str
    items: list[Item]
    complete: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    silent: bool = False
    parts: tuple[str, ...] | None = None
    started_at: int | None = None
    finished_at: int | None = None

    def stamp(self, scan_started_at: int, now: int) -> ScopeResult:
        """Fill the scan times the scanner left unset: the scan's start, and ``now`` (handed over)."""
        if self.started_at is None:
            self.started_at = scan_started_at
        if self.finished_at is None:
            self.finished_at = now
        return self


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress tick: ``done`` of ``total`` targets in ``scope`` (total may be unknown)."""

    scope: str
    done: int
    total: int | None
    message: str = ""


ProgressHook = Callable[[Progress], None]


class Scanner(Protocol):
    """A discovery source. ``scan`` yields one ScopeResult per scope it covers."""

    source: str

    def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        ...
