"""Retention of run records and history: keep N days, and always the last state.

Runs and history grow with every scan; nothing else removes them. ``prune``
deletes run records finished more than ``runs_days`` ago (each source and
scope keeps its newest run, whatever its age) and history entries older than
``history_days`` (each CI and relationship keeps its newest entry, so its last
recorded change stays answerable). Aging does not read old runs (it counts
missed runs on the sightings), so pruning them never changes what ages.
Only stores that implement :class:`RetentionStore` support it (the embedded
SQLite store); the others are refused with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cmdb.errors import CmdbError

_DAY_MS = 86_400_000


@runtime_checkable
class RetentionStore(Protocol):
    def prune_runs(self, finished_before: int) -> int:
        ...

    def prune_history(self, before: int) -> int:
        ...


class RetentionUnsupported(CmdbError):
    """The store cannot prune run records or history."""


@dataclass(frozen=True, slots=True)
class RetentionReport:
    runs: int
    history: int


def prune(store: object, now: int, runs_days: float | None, history_days: float | None) -> RetentionReport:
    """Delete run records and history past their retention (None: keep that kind forever)."""
    if not isinstance(store, RetentionStore):
        raise RetentionUnsupported(f"{type(store).__name__} does not support run and history retention "
                                   "(the embedded SQLite store does)")
    runs = store.prune_runs(now - int(runs_days * _DAY_MS)) if runs_days is not None else 0
    history = store.prune_history(now - int(history_days * _DAY_MS)) if history_days is not None else 0
    return RetentionReport(runs, history)
