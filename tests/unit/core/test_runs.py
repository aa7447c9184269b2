"""Runs owned by the ingestor: every exit path closes the run, honestly, on a real SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.errors import IdentityConflict
from cmdb.ingest import Ingestor
from cmdb.model import ChangeSet, Lifecycle, RunStatus, ScanRun
from cmdb.observation import Method
from cmdb.run_owner import current_owner
from cmdb.store.sqlite import SQLiteStore
from tests.builders import Harness, obs, ref, rel

A = obs("application", {"name": "a"})
B = obs("application", {"name": "b"})
A_TO_B = rel("DEPENDS_ON", ref("application", name="a"), ref("application", name="b"), method=Method.TRAFFIC,
             confidence=0.5)


def statuses(harness: Harness) -> dict[str, Lifecycle]:
    return {c.attributes["name"]: c.status for c in harness.all_cis()}


def only_run(harness: Harness) -> ScanRun:
    runs = harness.store.list_runs(limit=10)
    assert len(runs) == 1
    return runs[0]


def test_a_clean_block_ends_the_run_complete(harness: Harness) -> None:
    with harness.ingestor.run("aws", "s1", job="nightly") as run:
        run.ingest([A, B])
    assert run.finished is not None and run.finished.status is RunStatus.COMPLETE
    stored = only_run(harness)
    assert (stored.status, stored.job, stored.errors, stored.counts["created"]) == (RunStatus.COMPLETE, "nightly", [], 2)
    assert stored.owner == current_owner()


@pytest.mark.parametrize(("exc", "reason"), [
    (RuntimeError("boom"), "failed: RuntimeError: boom"),
    (KeyboardInterrupt(), "interrupted (SIGINT)"),
    (KeyboardInterrupt("SIGTERM"), "interrupted (SIGTERM)"),
])
def test_an_exception_or_interrupt_ends_the_run_incomplete_with_its_reason(harness: Harness, exc: BaseException,
                                                                          reason: str) -> None:
    harness.run([A, B])
    with pytest.raises(type(exc)), harness.ingestor.run("aws", "s1") as run:
        run.ingest([A])
        raise exc
    stored = harness.store.get_run(run.run_id)
    assert stored is not None and (stored.status, stored.errors) == (RunStatus.INCOMPLETE, [reason])
    assert statuses(harness) == {"a": Lifecycle.ACTIVE, "b": Lifecycle.ACTIVE}  # b missed nothing: no aging


def test_a_cancelled_task_ends_its_run_incomplete(harness: Harness) -> None:
    started = asyncio.Event()

    async def scan() -> None:
        with harness.ingestor.run("aws", "s1") as run:
            run.ingest([A])
            started.set()
            await asyncio.Event().wait()  # a scanner waiting on the network

    async def main() -> None:
        task = asyncio.create_task(scan())
        await started.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    stored = only_run(harness)
    assert (stored.status, stored.errors) == (RunStatus.INCOMPLETE, ["interrupted: cancelled"])


def test_a_run_that_rejected_items_is_incomplete_and_ages_nothing_on_their_account(harness: Harness) -> None:
    harness.run([A, B])
    bad_b = {"kind": "ci", "source": "aws", "scope": "s1", "class": "application", "identifiers": {"name": "b"},
             "attributes": {"no_such_attribute": 1}}
    for _ in range(4):  # more runs than it takes a missed CI to retire
        finished, report = harness.run([A, bad_b])
        assert [(e.index, e.field) for e in report.rejected] == [(1, "attributes.no_such_attribute")]
        assert finished.status is RunStatus.INCOMPLETE
        assert finished.errors[-1] == "1 item(s) rejected"
    assert statuses(harness) == {"a": Lifecycle.ACTIVE, "b": Lifecycle.ACTIVE}


def test_a_manual_change_in_a_run_reaches_the_listeners(harness: Harness) -> None:
    seen: list[ChangeSet] = []
    ingestor = Ingestor(harness.store, harness.schema, clock=harness.clock, listeners=[seen.append])
    harness.run([A])
    ci = harness.all_cis()[0]
    ci.status = Lifecycle.RETIRED
    with ingestor.run("manual", "api") as run:
        run.apply(ChangeSet(cis=[ci]))
        run.incomplete("manual edit")
    assert [c.cis[0].status for c in seen] == [Lifecycle.RETIRED]
    assert statuses(harness) == {"a": Lifecycle.RETIRED}


def _dead_owner() -> str:
    """The owner token of a real process of this machine that has exited."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    machine = current_owner().rsplit(":", 2)[0]
    return f"{machine}:{proc.pid}:1"


def _killed_run(harness: Harness, items: list[object], owner: str, heartbeat_at: int | None = None) -> ScanRun:
    """A run that ingested ``items`` and then lost its process: left ``running``, owned by ``owner``."""
    ingestor = Ingestor(harness.store, harness.schema, clock=harness.clock)
    run = ingestor.start_run("aws", "s1")
    ingestor.ingest(run, items)  # type: ignore[arg-type]
    run.owner, run.heartbeat_at = owner, heartbeat_at if heartbeat_at is not None else run.heartbeat_at
    harness.store.save_run(run)
    return run


def test_an_abandoned_runs_sightings_count_neither_for_aging_nor_as_evidence(harness: Harness) -> None:
    harness.run([A, B, A_TO_B])
    first = only_run(harness)
    sightings = {s.subject_uid: (s.run_id, s.seen_at, missed) for batch in harness.store.iter_sightings()
                 for s, missed in batch}
    edge_before = harness.all_rels()[0]
    assert (edge_before.evidence.times_seen, edge_before.evidence.confidence) == (1, 0.5)

    harness.clock.advance(1000)
    killed = _killed_run(harness, [A, B, A_TO_B], _dead_owner())
    edge = harness.all_rels()[0]
    assert (edge.evidence.times_seen, edge.evidence.confidence, edge.last_run) == (2, 0.75, killed.run_id)
    harness.clock.advance(1000)
    harness.run([A])  # a complete run while the killed one is still `running`: b and the edge miss it

    closed = Ingestor(harness.store, harness.schema, clock=harness.clock).close_abandoned_runs()
    assert [(r.run_id, r.status) for r in closed] == [(killed.run_id, RunStatus.ABANDONED)]
    stored = harness.store.get_run(killed.run_id)
    assert stored is not None and stored.status is RunStatus.ABANDONED
    assert stored.errors == [f"abandoned: its process ({killed.owner}) is gone"]
    edge = harness.all_rels()[0]
    assert (edge.evidence.times_seen, edge.evidence.confidence, edge.last_run) == (1, 0.5, first.run_id)
    after = {s.subject_uid: (s.run_id, s.seen_at, missed) for batch in harness.store.iter_sightings()
             for s, missed in batch}
    b_uid = next(c.uid for c in harness.all_cis() if c.attributes["name"] == "b")
    # b: back to what the first run left, plus the complete run it missed since.
    assert after[b_uid] == (sightings[b_uid][0], sightings[b_uid][1], 1)
    assert after[edge.uid] == (sightings[edge.uid][0], sightings[edge.uid][1], 1)
    harness.run([A])
    assert statuses(harness) == {"a": Lifecycle.ACTIVE, "b": Lifecycle.STALE}  # 2 missed runs, as without it


def test_a_run_of_another_machine_is_abandoned_only_past_its_lease(harness: Harness) -> None:
    elsewhere = "other-host/boot/1:4242:99"
    killed = _killed_run(harness, [A], elsewhere, heartbeat_at=harness.clock())
    ingestor = Ingestor(harness.store, harness.schema, clock=harness.clock, run_lease_ms=60_000)
    harness.clock.advance(59_000)
    assert ingestor.close_abandoned_runs() == []
    assert harness.store.unfinished_runs() == [harness.store.get_run(killed.run_id)]
    harness.clock.advance(2_000)
    assert [r.run_id for r in ingestor.close_abandoned_runs()] == [killed.run_id]
    stored = harness.store.get_run(killed.run_id)
    assert stored is not None
    assert (stored.status, stored.errors) == (RunStatus.ABANDONED, ["abandoned: no heartbeat for 61 s (lease 60 s)"])
    assert harness.store.unfinished_runs() == []


def test_a_live_process_keeps_its_quiet_run(harness: Harness) -> None:
    alive = _killed_run(harness, [A], current_owner(), heartbeat_at=harness.clock())
    harness.clock.advance(10 * 3_600_000)
    assert Ingestor(harness.store, harness.schema, clock=harness.clock).close_abandoned_runs() == []
    assert [r.run_id for r in harness.store.unfinished_runs()] == [alive.run_id]


class _RacedStore(SQLiteStore):
    """A store that detects an identity race only at its write, as a Cypher store's uniqueness constraint does.

    SQLite itself never races (its ``write_batch`` holds the write lock across the
    lookups), so this store opens no transaction there; and before its first
    apply, a real second writer (another connection, another Ingestor) registers
    the same thing. Its apply then finds a key it would register already held by
    another CI and raises IdentityConflict, writing nothing.
    """

    def __init__(self, path: Path, harness: Harness) -> None:
        super().__init__(path, harness.schema)
        self.harness = harness
        self.raced = False

    @contextlib.contextmanager
    def write_batch(self) -> Iterator[None]:
        yield

    def apply(self, changes: ChangeSet) -> None:
        if not self.raced:
            self.raced = True
            self.harness.run([A])  # the other writer, between this batch's lookups and its write
        held = self.find_keys([key for key, _ in changes.keys])
        for key, uid in changes.keys:
            if any(other != uid for other in held.get(key, ())):
                raise IdentityConflict(key)
        super().apply(changes)


def test_an_identity_conflict_at_write_identifies_the_batch_again(harness: Harness, tmp_path: Path) -> None:
    store = _RacedStore(tmp_path / "cmdb.sqlite", harness)
    try:
        with Ingestor(store, harness.schema, clock=harness.clock).run("aws", "s1") as run:
            report = run.ingest([A])
        assert (report.created, report.unchanged) == (0, 1)  # the retry found the other writer's CI
        assert [c.attributes["name"] for c in harness.all_cis()] == ["a"]
    finally:
        store.close()
