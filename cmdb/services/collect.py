"""Observation batches from remote collectors: one scan run per batch, per-item errors back."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cmdb.ingest import Ingestor, IngestReport, ItemError
from cmdb.model import ScanRun
from cmdb.services.errors import InvalidQuery


@dataclass(frozen=True, slots=True)
class CollectBatch:
    source: str
    scope: str
    complete: bool
    items: Sequence[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CollectResult:
    run: ScanRun
    report: IngestReport

    @property
    def errors(self) -> list[ItemError]:
        return self.report.rejected


class CollectService:
    """Ingest a collector's batch as one run; runs are serialised with manual edits by ``lock``."""

    def __init__(self, ingestor: Ingestor, lock: threading.Lock | None = None) -> None:
        self.ingestor = ingestor
        self.lock = lock or threading.Lock()

    def collect(self, batch: CollectBatch) -> CollectResult:
        if batch.source not in self.ingestor.schema.sources:
            raise InvalidQuery("source", f"unknown source {batch.source!r}")
        if not batch.scope.strip():
            raise InvalidQuery("scope", "must not be empty")
        # A batch with rejected items is not the whole truth about its scope: the run
        # ends incomplete (Ingestor.run sees to it) and ages nothing.
        with self.lock, self.ingestor.run(batch.source, batch.scope, job="collector") as run:
            run.ingest(batch.items)
            if not batch.complete:
                run.incomplete("the collector sent part of its scope (complete: false)")
        assert run.finished is not None
        return CollectResult(run=run.finished, report=run.report)
