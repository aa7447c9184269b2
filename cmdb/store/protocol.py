"""The GraphStore protocol: the one interface every store implements.

The ingest pipeline, aging, the topology index and the read services use only
these methods. ``tests/contract/`` holds the suite every implementation passes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol, runtime_checkable

from cmdb.model import CI, ChangeSet, CIHead, CIQuery, HistoryEntry, Page, Relationship, ScanRun, Sighting


class Direction(str, Enum):
    OUT = "out"  # relationships whose source is the given CI
    IN = "in"  # relationships whose target is the given CI
    BOTH = "both"


class EdgeRow(NamedTuple):
    """A slim relationship row for building the in-memory topology index."""

    source_uid: str
    type: str
    target_uid: str
    method: str
    confidence: float
    status: str


class NodeRow(NamedTuple):
    """A slim CI row for the topology index (redundancy needs class and min_up)."""

    uid: str
    ci_class: str
    status: str
    name: str | None
    min_up: str | None
    owner: str | None
    uplink: bool | None = None  # the CI's ``uplink`` attribute (network layer), None when absent


class AgingCandidate(NamedTuple):
    """An item a scope's complete run did not see, with what aging needs to decide."""

    subject_kind: str  # "ci" or "rel"
    subject_uid: str
    ci_class: str | None  # for CIs; None for relationships
    status: str
    min_missed: int  # the smallest missed-run count over all of its sightings
    last_seen: int  # the latest sighting over all sources


@dataclass(frozen=True, slots=True)
class StoreCounts:
    cis: int
    relationships: int
    history: int
    runs: int


@runtime_checkable
class GraphStore(Protocol):
    # -- identification and writes -------------------------------------------------
    def find_keys(self, keys: Collection[str]) -> dict[str, list[str]]:
        """Identification keys -> uids holding them (absent keys are left out)."""
        ...

    def get_cis(self, uids: Collection[str]) -> dict[str, CI]:
        ...

    def get_ci_heads(self, uids: Collection[str]) -> dict[str, CIHead]:
        """uid, class and creation time of the CIs (absent uids are left out).

        Resolving a relationship's endpoints needs no more than this, and it is
        far cheaper than whole CIs with their attributes and provenance.
        """
        ...

    def get_relationships(self, uids: Collection[str]) -> dict[str, Relationship]:
        ...

    def write_batch(self) -> AbstractContextManager[None]:
        """One write transaction around an ingest batch's identification reads and its ``apply``.

        Inside it (on the calling thread), ``find_keys``, ``get_cis``,
        ``get_ci_heads`` and ``get_relationships`` read what the ``apply`` then
        writes, and no other writer, in this process or another, registers a key
        in between: two processes ingesting the same things end with one CI each.
        A store that cannot hold the reads and the write in one transaction must
        instead make ``apply`` raise ``cmdb.errors.IdentityConflict`` (writing
        nothing) when a key it registers already belongs to another CI; the
        ingestor then identifies the batch again. Where it is a transaction
        (SQLite), leaving the block on an error writes nothing of the batch.
        """
        ...

    def apply(self, changes: ChangeSet) -> None:
        """Write one batch atomically: all of it or, on error, none of it.

        Sightings reset the item's missed-run count in that source and scope;
        ``dropped_sightings`` are removed and ``restored_sightings`` written as given
        (a merge moving them from one CI to another), after the deletes.
        May raise ``IdentityConflict`` (see ``write_batch``), having written nothing.
        """
        ...

    # -- reads ------------------------------------------------------------------------
    def search(self, query: CIQuery) -> Page:
        ...

    def neighbours(
        self,
        uids: Collection[str],
        direction: Direction = Direction.BOTH,
        types: Collection[str] | None = None,
        include_inactive: bool = False,
    ) -> list[Relationship]:
        """Relationships touching any of ``uids`` in ``direction`` (one call for a whole frontier)."""
        ...

    def history(self, uid: str, limit: int = 1000) -> list[HistoryEntry]:
        """Entries for a CI or relationship, oldest first."""
        ...

    def iter_nodes(self, batch_size: int = 50_000) -> Iterator[list[NodeRow]]:
        ...

    def iter_edges(self, batch_size: int = 50_000) -> Iterator[list[EdgeRow]]:
        ...

    def iter_cis(self, batch_size: int = 5_000) -> Iterator[list[CI]]:
        ...

    def iter_relationships(self, batch_size: int = 5_000) -> Iterator[list[Relationship]]:
        ...

    def iter_history(self, batch_size: int = 5_000) -> Iterator[list[HistoryEntry]]:
        ...

    def iter_keys(self, batch_size: int = 5_000) -> Iterator[list[tuple[str, str]]]:
        """Identification keys as (key, uid), by key then uid (for export)."""
        ...

    def iter_sightings(self, batch_size: int = 5_000) -> Iterator[list[tuple[Sighting, int]]]:
        """Sightings with their missed-run counts (for export)."""
        ...

    def restore_sightings(self, sightings: Sequence[tuple[Sighting, int]]) -> None:
        """Write sightings exactly as given, missed-run counts included (for import)."""
        ...

    def sightings_of(self, uids: Collection[str]) -> list[tuple[Sighting, int]]:
        """The sightings of these CIs and relationships with their missed-run counts (a merge moves them)."""
        ...

    def counts(self) -> StoreCounts:
        ...

    # -- scan runs --------------------------------------------------------------------
    def save_run(self, run: ScanRun) -> None:
        ...

    def get_run(self, run_id: str) -> ScanRun | None:
        ...

    def list_runs(self, source: str | None = None, scope: str | None = None, limit: int = 50,
                  job: str | None = None) -> list[ScanRun]:
        """Most recent first, optionally only one source, scope or job."""
        ...

    def unfinished_runs(self) -> list[ScanRun]:
        """The runs still ``running``, oldest first (to find the abandoned ones)."""
        ...

    def abandon_run(self, run: ScanRun) -> None:
        """Save ``run`` (status ``abandoned``) and take back what its sightings did, in one transaction.

        Sightings it made count neither for aging nor as evidence: each sighting
        whose last run is ``run`` gets back the run, last-seen time and missed-run
        count it had before (plus the runs missed since), and each relationship
        whose last run is ``run`` gets back its evidence from before ``run``
        (times seen, confidence, sources). What ``run`` created keeps its one
        sighting. The values it wrote and their history stay: they were observed.
        """
        ...

    def sighting_scopes(self, source: str, prefix: str) -> list[str]:
        """The scopes of ``source`` beginning with ``prefix`` that hold sightings, sorted.

        An inventory's parts (``dc1/<host>``) that the store still holds.
        """
        ...

    # -- aging primitives (the policy lives in cmdb.aging) ---------------------------
    def mark_missed(self, source: str, scope: str, run_id: str) -> int:
        """Add one missed run to every sighting in (source, scope) not seen by ``run_id``; how many.

        Those sightings' subjects are the run's aging candidates: none marked, none to age.
        """
        ...

    def aging_candidates(
        self, source: str, scope: str, run_id: str, after_uid: str | None, limit: int
    ) -> list[AgingCandidate]:
        """A page (by subject uid) of items with a sighting in the scope not seen by ``run_id``."""
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class CheckpointingStore(Protocol):
    """A store with a write-ahead log a long-running writer should checkpoint now and then (SQLite)."""

    def checkpoint(self) -> bool:
        """Fold the log into the store and shrink it; False when busy (try again later)."""
        ...
