"""Bulk writes (``CypherStore.apply_many``): the next batch is made ready while the server writes one.

Neo4j (:func:`apply_ahead`): a thread takes the next ChangeSet from the input and
builds its statements while this one waits for the server's commit of the current
one: the client's work overlaps the server's instead of adding to it.

FalkorDB, whose transport prepares writes ahead (:func:`apply_pipelined`): three things run at once: this thread serialises the next ChangeSet, one server
thread writes the topology of the current one, another the bookkeeping of the
one before (FalkorDB runs one write at a time per graph, and the two parts are
two graphs). Each ChangeSet's topology is written after the previous one's
succeeded, and its bookkeeping only once its topology succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from cmdb.model import ChangeSet
from cmdb.store.cypher.statements import BOOKKEEPING, TOPOLOGY
from cmdb.store.cypher.transport import ConstraintViolation, CypherTransport, Prepared, PreparingTransport, Row, Unit

UnitsOf = Callable[[ChangeSet, bool], list[Unit]]  # (changes, trust_creates) -> units, as CypherStore._units


def apply_pipelined(transport: PreparingTransport, units_of: UnitsOf, batches: Iterable[ChangeSet]) -> int:
    """Write ``batches`` in order, each all or nothing; returns how many were written.

    A batch that fails to serialise raises before anything of it is sent, once
    the batches before it are written whole. A batch whose CREATE of a new CI
    breaks the uniqueness constraint (nothing of it written) is written again
    as upserts, as ``CypherStore.apply`` does. Should a bookkeeping query fail
    on the server, its topology is written and the next batch's topology may
    be too: the error is raised, and the caller re-runs from that batch.
    """
    applied = 0
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmdb-topology") as topology,
          ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmdb-bookkeeping") as bookkeeping):
        in_flight: tuple[Future[list[Row]] | None, ChangeSet, Prepared] | None = None
        book: Future[list[Row]] | None = None

        def settle() -> None:
            """Wait for the topology in flight; then queue its bookkeeping (after the previous one's)."""
            nonlocal in_flight, book, applied
            if in_flight is None:
                return
            future, changes, prepared = in_flight
            in_flight = None
            try:
                if future is not None:
                    future.result()
            except ConstraintViolation:  # nothing of the batch was written
                prepared = transport.prepare(units_of(changes, False))
                if prepared.topology is not None:
                    transport.send_part(TOPOLOGY, prepared.topology)
            if book is not None:
                book.result()
                book = None
            if prepared.bookkeeping is not None:
                book = bookkeeping.submit(transport.send_part, BOOKKEEPING, prepared.bookkeeping)
            applied += 1

        try:
            for changes in batches:
                if not changes:
                    continue
                prepared = transport.prepare(units_of(changes, True))
                settle()
                future = (topology.submit(transport.send_part, TOPOLOGY, prepared.topology)
                          if prepared.topology is not None else None)
                in_flight = (future, changes, prepared)
        finally:
            # Also when a batch failed to serialise: the ones before it are written whole.
            settle()
            if book is not None:
                book.result()
    return applied


def apply_ahead(transport: CypherTransport, units_of: UnitsOf, batches: Iterable[ChangeSet]) -> int:
    """Write ``batches`` in order, each all or nothing, the next one's statements built meanwhile.

    Returns how many were written. A batch that fails to build (or an input that fails)
    raises once the batches before it are written whole; a failed write raises with the
    batches before it written and nothing of it. A batch whose CREATE of a new CI breaks
    the uniqueness constraint (nothing of it written) is written again as upserts, as
    ``CypherStore.apply`` does.
    """
    source = iter(batches)

    def build() -> tuple[ChangeSet, list[Unit]] | None:
        for changes in source:
            if changes:
                return changes, units_of(changes, True)
        return None

    applied = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmdb-build") as builder:
        ahead = builder.submit(build)
        while (ready := ahead.result()) is not None:
            ahead = builder.submit(build)  # the input and the statements of the next, during this write
            changes, units = ready
            try:
                transport.write(units)
            except ConstraintViolation:  # a CI the batch says it created exists already
                transport.write(units_of(changes, False))
            applied += 1
    return applied
