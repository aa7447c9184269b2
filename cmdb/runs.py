"""The lifecycle of a scan run, in one place: open, ingest, close on every exit path.

``Ingestor.run(source, scope, job=...)`` is the only way a scan, a CLI ingest, a
collector batch, a manual edit or an import starts and ends a run::

    with ingestor.run("ssh", "dc1/db1", job="hosts") as run:
        run.ingest(items)
        if unreachable:
            run.incomplete("db1: connect timed out", silent=True)

Leaving the block finishes the run: ``complete`` only when the block said nothing
was missing and no item was rejected (a rejected item is something the run did
not record, so nothing may age on its account); otherwise ``incomplete`` with the
reasons. An exception, a task cancellation or an interrupt (Ctrl-C, a signal the
caller turned into an exception) ends the run ``incomplete`` with that reason and
propagates.

A run that never reaches its end (the process was killed, the machine lost) stays
``running`` in the store. :func:`close_abandoned` closes it as ``abandoned`` when a
later writer finds its owner process gone (same machine) or its heartbeat older
than the lease; the store then takes back what its sightings did (missed-run
counts and last-seen times, the runs counted in relationship evidence).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from cmdb.ingest import Ingestor, IngestReport
from cmdb.model import ChangeSet, RunStatus, ScanRun
from cmdb.observation import Item
from cmdb.run_owner import OwnerState, owner_state
from cmdb.store.protocol import GraphStore

log = logging.getLogger(__name__)


class ActiveRun:
    """A scan run in progress, as handed out by ``Ingestor.run``."""

    def __init__(self, ingestor: Ingestor, run: ScanRun) -> None:
        self._ingestor = ingestor
        self.run = run
        self.report = IngestReport()
        self.reasons: list[str] = []  # why the run is incomplete
        self.errors: list[str] = []  # recorded on the run; they do not make it incomplete
        self.silent = False
        self.finished: ScanRun | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def ingest(self, items: Iterable[Item | dict[str, Any]]) -> IngestReport:
        """Identify, reconcile and apply ``items`` in the run; bad items are reported (and make it incomplete)."""
        report = self._ingestor.ingest(self.run, items)
        self.report.add(report)
        return report

    def apply(self, changes: ChangeSet) -> None:
        """Apply a ChangeSet made outside identification (a manual retire), listeners told."""
        self._ingestor.apply_changes(self.run, changes)

    def scanned(self, started_at: int | None, finished_at: int | None) -> None:
        """When the scanner looked at this scope (epoch ms): the run's duration counts from the scan's start."""
        self.run.scan_started_at, self.run.scan_finished_at = started_at, finished_at

    def error(self, *errors: str) -> None:
        """Record errors on the run without making it incomplete (a warning about one target)."""
        self.errors.extend(errors)

    def incomplete(self, *reasons: str, silent: bool = False) -> None:
        """The run did not see all of its scope: it will age nothing. ``reasons`` are recorded.

        ``silent``: its target did not answer at all; what the scope holds still goes
        stale once nobody has seen it for longer than its class's TTL.
        """
        self.reasons.extend(reasons or ("incomplete",))
        self.silent = self.silent or silent

    @property
    def complete(self) -> bool:
        return not self.reasons and not self.report.rejected


def exit_reason(exc: BaseException) -> str:
    """Why a run ended early, in words, from what ended it."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (SIGINT)" if not str(exc) else f"interrupted ({exc})"
    if isinstance(exc, asyncio.CancelledError):
        return "interrupted: cancelled"
    if isinstance(exc, SystemExit):
        return f"interrupted: exit {exc.code}"
    return f"failed: {type(exc).__name__}: {exc}"


def _finish(ingestor: Ingestor, active: ActiveRun) -> ScanRun:
    reasons = list(active.reasons)
    rejected = active.report.rejected
    if rejected:
        reasons.append(f"{len(rejected)} item(s) rejected")
    active.finished = ingestor.finish_run(active.run, complete=not reasons, errors=[*active.errors, *reasons],
                                          silent=active.silent)
    return active.finished


@contextlib.contextmanager
def open_run(ingestor: Ingestor, source: str, scope: str, job: str | None,
             job_run: str | None = None) -> Iterator[ActiveRun]:
    """``Ingestor.run``'s body (see the module docstring)."""
    active = ActiveRun(ingestor, ingestor.start_run(source, scope, job, job_run))
    try:
        yield active
    except BaseException as exc:
        active.incomplete(exit_reason(exc))
        try:
            _finish(ingestor, active)
        except Exception:  # the store is what failed: the run stays running, a later writer abandons it
            log.exception("could not close run %s after %s", active.run_id, exit_reason(exc))
        raise
    _finish(ingestor, active)


def close_abandoned(store: GraphStore, now: int, lease_ms: int, own: set[str]) -> list[ScanRun]:
    """Close as ``abandoned`` every unfinished run that will never finish; returns them.

    A run is abandoned when its owner is a process of this machine that is gone, or
    when its owner cannot be asked (another machine, none recorded) and its last
    heartbeat is older than ``lease_ms``. ``own``: run ids this process has open.
    A process of this machine that still exists keeps its run, however quiet.
    """
    closed: list[ScanRun] = []
    for run in store.unfinished_runs():
        if run.run_id in own:
            continue
        state = owner_state(run.owner)
        if state is OwnerState.ALIVE:
            continue
        last = run.heartbeat_at if run.heartbeat_at is not None else run.started_at
        if state is OwnerState.GONE:
            reason = f"abandoned: its process ({run.owner}) is gone"
        elif now - last > lease_ms:
            reason = f"abandoned: no heartbeat for {(now - last) // 1000} s (lease {lease_ms // 1000} s)"
        else:
            continue
        run.status = RunStatus.ABANDONED
        run.finished_at = now
        run.errors.append(reason)
        store.abandon_run(run)
        log.warning("scan run %s (%s/%s) %s", run.run_id, run.source, run.scope, reason)
        closed.append(run)
    return closed


def close_removed_parts(ingestor: Ingestor, source: str, scope: str, parts: Iterable[str],
                        job: str | None, job_run: str | None = None) -> list[ScanRun]:
    """Age what an inventory's removed parts held: one empty, complete run per part no longer listed.

    ``scope`` is an inventory (an SSH host list) whose parts are the scopes
    ``<scope>/<part>``; ``parts`` is what it lists now. A part the store still
    holds sightings for that is not listed was removed from the inventory: a
    complete run that sees nothing there counts one missed run for everything it
    held, so it goes stale, then retired, by its class's aging, unless another
    source or scope still sees it. Call only when the inventory's list of parts is whole
    (every part it may hold is listed, those that did not answer too).
    """
    listed = {f"{scope}/{part}" for part in parts}
    closed: list[ScanRun] = []
    for part_scope in ingestor.store.sighting_scopes(source, f"{scope}/"):
        if part_scope in listed:
            continue
        with ingestor.run(source, part_scope, job=job, job_run=job_run) as run:
            run.error(f"not in the inventory of {scope} any more: what it held misses this run")
        assert run.finished is not None
        closed.append(run.finished)
    return closed
