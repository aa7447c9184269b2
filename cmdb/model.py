"""Domain objects the CMDB keeps: CIs, relationships, scan runs and history.

Plain dataclasses: they are built hundreds of thousands of times per ingest.
Times are epoch milliseconds.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple


class Lifecycle(str, Enum):
    ACTIVE = "active"
    STALE = "stale"
    RETIRED = "retired"


class RunStatus(str, Enum):
    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    # Never finished (the process was killed or lost its store): closed by the next
    # writer, its sightings taken back (they count neither as evidence nor for aging).
    ABANDONED = "abandoned"


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    STALE = "stale"
    RETIRE = "retire"
    REACTIVATE = "reactivate"
    DELETE = "delete"
    DUPLICATE = "duplicate"
    MERGE = "merge"  # on both CIs: one absorbed the other (``merged_into`` / ``absorbed``)
    UNMERGE = "unmerge"


def new_uid() -> str:
    """32 hex digits: the creation time in milliseconds, then 80 random bits.

    Time-ordered, so CIs created together sit together in every index keyed
    by uid (the store's B-trees get appends instead of random inserts, and a
    re-ingest reads neighbouring pages); 80 random bits keep uids unguessable
    and unique without coordination.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def rel_uid(source_uid: str, rel_type: str, target_uid: str) -> str:
    """Relationships are identified by their ends and type: one edge per (A, T, B)."""
    return f"{source_uid}:{rel_type}:{target_uid}"


@dataclass(slots=True)
class Provenance:
    """Which source last wrote an attribute, and when it observed the value."""

    source: str
    observed_at: int
    # The source reported it about a neighbour, not from the thing's own scan; stored as a third
    # element, true, only when set (``Provenance(*stored)`` reads both forms).
    hearsay: bool = False


class CIHead(NamedTuple):
    """What identifying a reference to a CI needs: its uid, class and creation time (the oldest wins)."""

    uid: str
    ci_class: str
    created_at: int


@dataclass(slots=True)
class CI:
    uid: str
    ci_class: str
    attributes: dict[str, Any]
    provenance: dict[str, Provenance] = field(default_factory=dict)
    status: Lifecycle = Lifecycle.ACTIVE
    created_at: int = 0
    updated_at: int = 0
    parent_uid: str | None = None
    duplicate_of: str | None = None

    @property
    def name(self) -> str:
        value = self.attributes.get("name")
        return str(value) if value is not None else self.uid

    @property
    def merged_into(self) -> str | None:
        """The CI that absorbed this one: a merge retires it with ``duplicate_of`` naming the kept CI."""
        return self.duplicate_of if self.status is Lifecycle.RETIRED else None


@dataclass(slots=True)
class RelEvidence:
    sources: list[str]
    first_seen: int
    last_seen: int
    times_seen: int
    method: str
    confidence: float


@dataclass(slots=True)
class Relationship:
    uid: str
    type: str
    source_uid: str
    target_uid: str
    attributes: dict[str, Any]
    evidence: RelEvidence
    status: Lifecycle = Lifecycle.ACTIVE
    last_run: str | None = None


@dataclass(slots=True)
class HistoryEntry:
    """One recorded change: ``changes`` maps attribute -> [before, after]."""

    subject_uid: str
    subject_kind: str  # "ci" or "rel"
    action: Action
    changes: dict[str, list[Any]]
    source: str
    run_id: str | None
    at: int
    seq: int = 0  # assigned by the store, increasing


@dataclass(slots=True)
class ScanRun:
    run_id: str
    source: str
    scope: str
    started_at: int
    job: str | None = None
    finished_at: int | None = None
    status: RunStatus = RunStatus.RUNNING
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # The process running it (``cmdb.run_owner``) and when it last showed it is alive:
    # what tells a later writer that a ``running`` run will never finish.
    owner: str | None = None
    heartbeat_at: int | None = None
    # The execution of a discovery job this run belongs to: the run id of the job's own
    # record in scope ``job:<name>`` (``cmdb.job_runs``), the same for every scope it scanned.
    job_run_id: str | None = None
    # When the scanner started and stopped looking at this scope (epoch ms): ``started_at``
    # and ``finished_at`` bound the ingest, which follows the scan.
    scan_started_at: int | None = None
    scan_finished_at: int | None = None

    @property
    def duration_ms(self) -> int | None:
        """The run's one duration: from the scan's start (or the run's, without a scan) to the run's end."""
        if self.finished_at is None:
            return None
        start = self.scan_started_at if self.scan_started_at is not None else self.started_at
        return max(0, self.finished_at - start)


@dataclass(slots=True)
class Sighting:
    """An item (CI or relationship) seen by a source in a scope during a run."""

    subject_uid: str
    subject_kind: str
    source: str
    scope: str
    run_id: str
    seen_at: int


@dataclass(slots=True)
class ChangeSet:
    """Everything one ingest batch writes, applied by the store atomically."""

    cis: list[CI] = field(default_factory=list)  # full new state of created/changed CIs
    keys: list[tuple[str, str]] = field(default_factory=list)  # (identification key, uid) to add
    removed_keys: list[tuple[str, str]] = field(default_factory=list)  # identifier values a CI no longer has
    relationships: list[Relationship] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    # (kind, uid) of CIs and relationships to delete with their keys and sightings
    # (history is kept). Deletes are applied before the upserts of the same batch.
    deleted: list[tuple[str, str]] = field(default_factory=list)
    # A merge moves sightings: the uids whose sightings go (applied after the deletes),
    # then sightings written exactly as given, missed-run counts included.
    dropped_sightings: list[str] = field(default_factory=list)
    restored_sightings: list[tuple[Sighting, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cis or self.keys or self.removed_keys or self.relationships or self.history
                    or self.sightings or self.deleted or self.dropped_sightings or self.restored_sightings)


@dataclass(frozen=True, slots=True)
class AttrFilter:
    """``attribute op value``; op one of eq, ne, lt, le, gt, ge, contains."""

    attribute: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class CIQuery:
    classes: tuple[str, ...] = ()  # exact class names (callers expand subtrees)
    text: str | None = None  # substring over name and identifying values
    filters: tuple[AttrFilter, ...] = ()
    statuses: tuple[Lifecycle, ...] = ()
    after: str | None = None  # keyset cursor: uid to start after
    limit: int = 100


@dataclass(frozen=True, slots=True)
class Page:
    items: list[CI]
    has_next: bool
    end_cursor: str | None
