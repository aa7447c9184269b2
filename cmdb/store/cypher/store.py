"""``CypherStore``: the GraphStore protocol on a Cypher graph database.

The same statements (:mod:`cmdb.store.cypher.statements`) run on Neo4j and on
FalkorDB; a transport (:mod:`cmdb.store.cypher.transport`) carries them. The
semantics follow the reference implementation, :class:`cmdb.store.sqlite.SQLiteStore`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any, cast

from cmdb.errors import IdentityConflict
from cmdb.model import CI, Action, ChangeSet, CIHead, CIQuery, HistoryEntry, Page, Relationship, ScanRun, Sighting
from cmdb.store.cypher import codec
from cmdb.store.cypher.bulk import apply_ahead, apply_pipelined
from cmdb.store.cypher.change_log import CypherChangeLog, log_units
from cmdb.store.cypher.codec import CI_ATTRIBUTES, REL_EVIDENCE
from cmdb.store.cypher.ddl import index_specs
from cmdb.store.cypher.statements import BOOKKEEPING, TOPOLOGY, SearchShape, Statements
from cmdb.store.cypher.transport import (
    ConstraintViolation,
    CypherTransport,
    PreparingTransport,
    Row,
    StoreUnavailable,
    TransientStoreError,
    Unit,
)
from cmdb.store.protocol import AgingCandidate, Direction, EdgeRow, NodeRow, StoreCounts
from schema import Schema, load_schema

DEFAULT_BATCH_SIZE = 2000
_SHAPES_PER_CLASS = 8  # attribute-name sets per class and batch sent as lists (statements.upsert_cis)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CypherStore(CypherChangeLog):
    """GraphStore over a :class:`CypherTransport` (with its change log, :mod:`.change_log`).

    ``batch_size`` bounds the rows of one statement. ``apply`` keeps the
    protocol's all-or-nothing promise, so a ChangeSet is written as one
    transaction; the ingest pipeline sizes its ChangeSets (``ingest_batch_size``).
    """

    def __init__(self, transport: CypherTransport, schema: Schema | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.transport = transport
        self.schema = schema or load_schema()
        self.statements = Statements(self.schema)
        self.batch_size = batch_size
        self._local = threading.local()  # per thread: inside write_batch()?

    # -- schema and durability ---------------------------------------------------
    def init_schema(self) -> list[str]:
        """Create the indexes and constraints derived from the schema (idempotent)."""
        return self.transport.ensure_schema(index_specs(self.schema))

    def checkpoint(self) -> None:
        """Called by ingest at the end of each run: make the run survive a crash."""
        self.transport.checkpoint()

    def close(self) -> None:
        self.transport.close()

    # -- identification and writes ----------------------------------------------
    def _listed(self, statement: str, params: Mapping[str, Any], part: str = TOPOLOGY) -> list[Row]:
        """The rows of a lookup that returns them as one list (``collect``, one row)."""
        rows = self.transport.read(statement, params, part)
        return [tuple(row) for row in rows[0][0]] if rows else []

    def find_keys(self, keys: Collection[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(sorted(set(keys)), self.batch_size):
            for key, uid in self._listed(self.statements.find_keys, {"keys": chunk}, BOOKKEEPING):
                found.setdefault(key, []).append(uid)
        return {k: sorted(set(v)) for k, v in found.items()}

    def get_cis(self, uids: Collection[str]) -> dict[str, CI]:
        result: dict[str, CI] = {}
        for chunk in _chunks(sorted(set(uids)), self.batch_size):
            for row in self._listed(self.statements.get_cis, {"uids": chunk}):
                ci = codec.ci_from(row)
                result[ci.uid] = ci
        return result

    def get_ci_heads(self, uids: Collection[str]) -> dict[str, CIHead]:
        result: dict[str, CIHead] = {}
        for chunk in _chunks(sorted(set(uids)), self.batch_size):
            for uid, ci_class, created_at in self._listed(self.statements.get_ci_heads, {"uids": chunk}):
                result[uid] = CIHead(uid, ci_class, created_at)
        return result

    def get_relationships(self, uids: Collection[str]) -> dict[str, Relationship]:
        """By uid: ``src:TYPE:dst`` uids go through the endpoint index, others through the type indexes."""
        result: dict[str, Relationship] = {}
        by_ends: list[dict[str, str]] = []
        others: list[str] = []
        for uid in sorted(set(uids)):
            parts = uid.split(":")
            if len(parts) == 3 and parts[1] in self.schema.relationships:
                by_ends.append({"uid": uid, "src": parts[0], "dst": parts[2]})
            else:
                others.append(uid)
        for chunk in _chunks(by_ends, self.batch_size):
            for row in self._listed(self.statements.get_rels_by_ends, {"rows": chunk}):
                rel = codec.rel_from(row)
                result[rel.uid] = rel
        for rel_type in self.statements.rel_types if others else ():
            for chunk in _chunks(others, self.batch_size):
                for row in self._listed(self.statements.rel_by_uid(rel_type), {"uids": chunk}):
                    rel = codec.rel_from(row)
                    result[rel.uid] = rel
        return result

    @contextlib.contextmanager
    def write_batch(self) -> Iterator[None]:
        """The batch's key lookups and its apply under the store's write lock (``transport.exclusive``).

        Serialised across processes as SQLite's ``BEGIN IMMEDIATE`` serialises them: the
        second writer waits, then finds the keys the first one registered. Should the
        batch fail in a way that running it again mends (a deadlock with a writer outside
        any batch, the lock's lease lost, a uniqueness constraint broken), nothing of it is
        written and ``IdentityConflict`` sends it back to be identified again.
        """
        local = self._local
        if getattr(local, "in_batch", False):
            yield
            return
        local.in_batch = True
        try:
            with self.transport.exclusive(Unit(self.statements.take_write_lock, {}, BOOKKEEPING)):
                yield
        except (ConstraintViolation, TransientStoreError) as exc:
            if isinstance(exc, StoreUnavailable):
                raise
            raise IdentityConflict("", f"the batch was undone ({exc}); identified again") from exc
        finally:
            local.in_batch = False

    def apply(self, changes: ChangeSet) -> None:
        if not changes:
            return
        try:
            self.transport.write(self._units(changes))
        except ConstraintViolation:
            if getattr(self._local, "in_batch", False):
                raise  # the batch's transaction is spoilt: write_batch sends the batch back
            # A CI the batch says it created exists already: nothing was written.
            self.transport.write(self._units(changes, trust_creates=False))

    def apply_many(self, batches: Iterable[ChangeSet]) -> int:
        """Apply ChangeSets in order, each atomically, for bulk loads (import, benchmark).

        The next batch is taken from ``batches`` and its statements built while the
        server writes the current one (:mod:`.bulk`). Where the transport can prepare a
        write apart from sending it (FalkorDB), the next batch is serialised too, and the
        bookkeeping graph is written beside the topology. Returns the number of batches
        applied (empty ones are skipped). Inside ``write_batch`` (one transaction on this
        thread), one apply after another.
        """
        if getattr(self._local, "in_batch", False):
            applied = 0
            for changes in batches:
                self.apply(changes)
                applied += 1
            return applied
        if callable(getattr(self.transport, "prepare", None)) and callable(getattr(self.transport, "send_part", None)):
            return apply_pipelined(cast(PreparingTransport, self.transport), self._units, batches)
        return apply_ahead(self.transport, self._units, batches)

    def _units(self, changes: ChangeSet, trust_creates: bool = True) -> list[Unit]:
        """The statements writing one ChangeSet, in order.

        CIs with a ``create`` history entry in the batch are written with ``CREATE``
        (no lookups, half the server work), unless ``trust_creates`` is off: the
        retry after a uniqueness violation.
        """
        st = self.statements
        units: list[Unit] = []
        units.extend(self._delete_units(changes.deleted))
        units.extend(self._moved_sighting_units(changes))
        # Last state wins within a batch, as sequential upserts would have it.
        cis = list({ci.uid: ci for ci in changes.cis}.values())
        first_created: dict[str, int] = {}
        for ci in changes.cis:
            first_created.setdefault(ci.uid, ci.created_at)
        new: set[str] = set()
        if trust_creates:
            new = {h.subject_uid for h in changes.history if h.action is Action.CREATE and h.subject_kind == "ci"}
            new.intersection_update(ci.uid for ci in cis)
        rows: list[list[Any]] = []
        new_rows: list[list[Any]] = []
        for ci in cis:
            row = codec.ci_row(ci)
            row[1] = first_created[ci.uid]
            (new_rows if ci.uid in new else rows).append(row)
        for chunk in _chunks(rows, self.batch_size):
            units.append(Unit(st.relabel_cis, {"rows": [{"uid": r[0], "ci_class": r[2]} for r in chunk]}))
            units.append(Unit(st.reset_cis, {"rows": [{"uid": r[0], "prop_keys": r[10]} for r in chunk]}))
        for class_statement, group_rows in ((st.upsert_cis, rows), (st.create_cis, new_rows)):
            for (ci_class, attributes), group in self._by_shape(group_rows):
                for chunk in _chunks(group, self.batch_size):
                    units.append(Unit(class_statement(ci_class, attributes), {"rows": chunk}))
        removed = sorted(set(changes.removed_keys))
        for chunk in _chunks([[k, u] for k, u in removed], self.batch_size):
            units.append(Unit(st.remove_keys, {"rows": chunk}, BOOKKEEPING))
        keys = sorted(set(changes.keys))
        for key_statement, pairs in ((st.upsert_keys, [[k, u] for k, u in keys if u not in new]),
                                 (st.create_keys, [[k, u] for k, u in keys if u in new])):
            for chunk in _chunks(pairs, self.batch_size):
                units.append(Unit(key_statement, {"rows": chunk}, BOOKKEEPING))
        rels = list({rel.uid: rel for rel in changes.relationships}.values())
        rels.sort(key=lambda r: r.type)
        for rel_type, rel_group in groupby(rels, key=lambda r: r.type):
            rel_rows = [codec.rel_row(rel) for rel in rel_group]
            for with_attributes in (False, True):  # rows without attribute properties: a cheaper create
                group_rows = [row for row in rel_rows if bool(row[2]) is with_attributes]
                for chunk in _chunks(group_rows, self.batch_size):
                    units.append(Unit(st.upsert_rels(rel_type, with_attributes), {"rows": chunk}))
        for chunk in _chunks([codec.history_row(h) for h in changes.history], self.batch_size):
            for i, history in enumerate(chunk):
                history.append(i)
            units.append(Unit(st.append_history, {"rows": chunk}, BOOKKEEPING))
        for chunk in _chunks(codec.sighting_rows(changes.sightings), self.batch_size):
            units.append(Unit(st.upsert_sightings, {"rows": chunk}, BOOKKEEPING))
        # Last of the topology statements: the change-log entry, in the same transaction (FalkorDB: query).
        units.extend(log_units(changes, self.retention_ms))
        return units

    def _by_shape(self, rows: list[list[Any]]) -> list[tuple[tuple[str, tuple[str, ...] | None], list[list[Any]]]]:
        """CI rows by class and by their set of attribute names, in that order.

        Rows with the same attribute names send them once, in the statement, and their
        values as a list: FalkorDB parameters are Cypher text, where each map key costs a
        pass over the whole text. A class whose rows have many different sets keeps the
        map form for the rarer ones, so a batch stays a few statements.
        """
        groups: dict[tuple[str, tuple[str, ...]], list[list[Any]]] = {}
        for row in rows:
            groups.setdefault((row[2], tuple(row[CI_ATTRIBUTES])), []).append(row)
        per_class: dict[str, int] = {}
        result: list[tuple[tuple[str, tuple[str, ...] | None], list[list[Any]]]] = []
        as_maps: dict[str, list[list[Any]]] = {}
        for (ci_class, names), group in sorted(groups.items(), key=lambda g: (g[0][0], -len(g[1]))):
            if ci_class not in self.schema.classes:
                raise ValueError(f"unknown CI class {ci_class!r}")
            per_class[ci_class] = per_class.get(ci_class, 0) + 1
            if not names or per_class[ci_class] > _SHAPES_PER_CLASS:  # no attributes: an empty map
                as_maps.setdefault(ci_class, []).extend(group)
                continue
            for row in group:  # rows are built for this write alone: replaced in place
                row[CI_ATTRIBUTES] = list(row[CI_ATTRIBUTES].values())
            result.append(((ci_class, names), group))
        result.extend(((ci_class, None), group) for ci_class, group in as_maps.items())
        return result

    def _delete_units(self, deleted: list[tuple[str, str]]) -> list[Unit]:
        """Deletes run first in the batch; relationships are found from their source CI."""
        st = self.statements
        units: list[Unit] = []
        rels = sorted((uid.split(":")[1], uid) for kind, uid in deleted if kind == "rel")
        for rel_type, group in groupby(rels, key=lambda r: r[0]):
            rows = [{"src": uid.split(":")[0], "uid": uid} for _, uid in group]
            for chunk in _chunks(rows, self.batch_size):
                units.append(Unit(st.delete_rels(rel_type), {"rows": chunk}))
        subjects = [{"uid": uid} for _, uid in deleted]
        ci_rows = [{"uid": uid} for kind, uid in deleted if kind == "ci"]
        for chunk in _chunks(subjects, self.batch_size):
            units.append(Unit(st.delete_sightings_of, {"rows": chunk}, BOOKKEEPING))
        for chunk in _chunks(ci_rows, self.batch_size):
            units.append(Unit(st.delete_keys_of, {"rows": chunk}, BOOKKEEPING))
            units.append(Unit(st.delete_cis, {"rows": chunk}))
        return units

    # -- reads --------------------------------------------------------------------
    def search(self, query: CIQuery) -> Page:
        shape = SearchShape(
            classes=bool(query.classes),
            statuses=bool(query.statuses),
            text=bool(query.text),
            after=bool(query.after),
            filters=tuple((f.attribute, f.op) for f in query.filters),
        )
        for f in query.filters:
            if not f.attribute.replace("_", "").isalnum():
                raise ValueError(f"invalid attribute name {f.attribute!r}")
        params: dict[str, Any] = {"limit": query.limit + 1}
        if query.classes:
            params["classes"] = list(query.classes)
        if query.statuses:
            params["statuses"] = [s.value for s in query.statuses]
        if query.text:
            params["text"] = query.text
            params["text_lower"] = query.text.lower()
        if query.after:
            params["after"] = query.after
        for i, f in enumerate(query.filters):
            params[f"f{i}"] = f.value
        rows = self.transport.read(self.statements.search(shape), params)
        items = [codec.ci_from(r) for r in rows[: query.limit]]
        return Page(items=items, has_next=len(rows) > query.limit, end_cursor=items[-1].uid if items else None)

    def neighbours(
        self,
        uids: Collection[str],
        direction: Direction = Direction.BOTH,
        types: Collection[str] | None = None,
        include_inactive: bool = False,
    ) -> list[Relationship]:
        statements = {
            Direction.OUT: (self.statements.neighbours_out,),
            Direction.IN: (self.statements.neighbours_in,),
            Direction.BOTH: (self.statements.neighbours_out, self.statements.neighbours_in),
        }[direction]
        seen: dict[str, Relationship] = {}
        type_list = sorted(types) if types else None
        for chunk in _chunks(sorted(set(uids)), self.batch_size):
            for statement in statements:
                params = {"uids": chunk, "types": type_list, "inactive": include_inactive}
                for row in self.transport.read(statement, params):
                    rel = codec.rel_from(row)
                    seen.setdefault(rel.uid, rel)
        return sorted(seen.values(), key=lambda r: r.uid)

    def history(self, uid: str, limit: int = 1000) -> list[HistoryEntry]:
        rows = self.transport.read(self.statements.history, {"uid": uid, "limit": limit}, BOOKKEEPING)
        return [codec.history_from(r) for r in rows]

    def _pages(self, statement: str, start: Any, key: int, batch_size: int,
               part: str = TOPOLOGY) -> Iterator[list[tuple[Any, ...]]]:
        after = start
        while True:
            rows = self.transport.read(statement, {"after": after, "limit": batch_size}, part)
            if rows:
                yield rows
            if len(rows) < batch_size:
                return
            after = rows[-1][key]

    def iter_nodes(self, batch_size: int = 50_000) -> Iterator[list[NodeRow]]:
        for rows in self._pages(self.statements.page_nodes, "", 0, batch_size):
            yield [codec.node_from(r) for r in rows]

    def _out_edges(self, statement: str, params: dict[str, Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of the out-edges of every CI, a page of source CIs at a time, each page by uid.

        The order is by source uid, then relationship uid: the relationship-uid order
        whenever CI uids have one length (``src:TYPE:dst``), as generated uids do.
        """
        after = ""
        while True:
            uids = [r[0] for r in self.transport.read(self.statements.page_uids, {"after": after, "limit": batch_size})]
            if not uids:
                return
            rows = sorted(self.transport.read(statement, {**params, "uids": uids}), key=lambda r: r[0])
            for start in range(0, len(rows), batch_size):
                yield rows[start : start + batch_size]
            if len(uids) < batch_size:
                return
            after = uids[-1]

    def iter_edges(self, batch_size: int = 50_000) -> Iterator[list[EdgeRow]]:
        for rows in self._out_edges(self.statements.edges_out, {}, batch_size):
            yield [codec.edge_from(r) for r in rows]

    def iter_cis(self, batch_size: int = 5_000) -> Iterator[list[CI]]:
        for rows in self._pages(self.statements.page_cis, "", 0, batch_size):
            yield [codec.ci_from(r) for r in rows]

    def iter_relationships(self, batch_size: int = 5_000) -> Iterator[list[Relationship]]:
        params = {"types": None, "inactive": True}
        for rows in self._out_edges(self.statements.neighbours_out, params, batch_size):
            yield [codec.rel_from(r) for r in rows]

    def iter_history(self, batch_size: int = 5_000) -> Iterator[list[HistoryEntry]]:
        for rows in self._pages(self.statements.page_history, 0, 0, batch_size, BOOKKEEPING):
            yield [codec.history_from(r) for r in rows]

    def iter_keys(self, batch_size: int = 5_000) -> Iterator[list[tuple[str, str]]]:
        """Identification keys as (key, uid), for export."""
        after_key, after_uid = "", ""
        while True:
            rows = self.transport.read(
                self.statements.page_keys, {"after_key": after_key, "after_uid": after_uid, "limit": batch_size},
                BOOKKEEPING,
            )
            if rows:
                yield [(r[0], r[1]) for r in rows]
            if len(rows) < batch_size:
                return
            after_key, after_uid = rows[-1][0], rows[-1][1]

    def iter_sightings(self, batch_size: int = 5_000) -> Iterator[list[tuple[Sighting, int]]]:
        """Sightings with their missed-run counts, for export."""
        for rows in self._pages(self.statements.page_sightings, "", 0, batch_size, BOOKKEEPING):
            yield [(Sighting(r[1], r[2], r[3], r[4], r[5], r[6]), int(r[7])) for r in rows]

    def restore_sightings(self, sightings: Sequence[tuple[Sighting, int]]) -> None:
        """Write sightings exactly as exported, missed-run counts included (``cmdb import``)."""
        for chunk in _chunks(self._restore_rows(sightings), self.batch_size):
            self.transport.write([Unit(self.statements.restore_sightings, {"rows": chunk}, BOOKKEEPING)])

    @staticmethod
    def _restore_rows(sightings: Sequence[tuple[Sighting, int]]) -> list[dict[str, Any]]:
        rows = codec.sighting_rows([s for s, _ in sightings])
        missed = {codec.dumps([s.subject_uid, s.source, s.scope]): m for s, m in sightings}
        for row in rows:
            row["missed"] = missed[row["sid"]]
        return rows

    def _moved_sighting_units(self, changes: ChangeSet) -> list[Unit]:
        """A merge's sightings: those of the absorbed uids dropped, the merged ones written as given."""
        st = self.statements
        units: list[Unit] = []
        for chunk in _chunks([{"uid": uid} for uid in sorted(set(changes.dropped_sightings))], self.batch_size):
            units.append(Unit(st.delete_sightings_of, {"rows": chunk}, BOOKKEEPING))
        for chunk in _chunks(self._restore_rows(changes.restored_sightings), self.batch_size):
            units.append(Unit(st.restore_sightings, {"rows": chunk}, BOOKKEEPING))
        return units

    def sightings_of(self, uids: Collection[str]) -> list[tuple[Sighting, int]]:
        rows = self._listed(self.statements.sightings_of, {"uids": sorted(set(uids))}, BOOKKEEPING)
        return sorted(((Sighting(r[0], r[1], r[2], r[3], r[4], int(r[5])), int(r[6])) for r in rows),
                      key=lambda pair: (pair[0].subject_uid, pair[0].source, pair[0].scope))

    def counts(self) -> StoreCounts:
        st = self.statements

        def count(statement: str, part: str = TOPOLOGY) -> int:
            rows = self.transport.read(statement, {}, part)
            return int(rows[0][0]) if rows else 0

        return StoreCounts(count(st.count_cis), count(st.count_rels), count(st.count_history, BOOKKEEPING),
                           count(st.count_runs, BOOKKEEPING))

    # -- scan runs ----------------------------------------------------------------
    def save_run(self, run: ScanRun) -> None:
        self.transport.write([Unit(self.statements.upsert_runs, {"rows": [codec.run_row(run)]}, BOOKKEEPING)])

    def get_run(self, run_id: str) -> ScanRun | None:
        rows = self.transport.read(self.statements.get_run, {"run_id": run_id}, BOOKKEEPING)
        return codec.run_from(rows[0]) if rows else None

    def list_runs(self, source: str | None = None, scope: str | None = None, limit: int = 50,
                  job: str | None = None) -> list[ScanRun]:
        params = {"source": source or None, "scope": scope or None, "job": job or None, "limit": limit}
        return [codec.run_from(r) for r in self.transport.read(self.statements.list_runs, params, BOOKKEEPING)]

    def unfinished_runs(self) -> list[ScanRun]:
        return [codec.run_from(r) for r in self.transport.read(self.statements.unfinished_runs, {}, BOOKKEEPING)]

    def abandon_run(self, run: ScanRun) -> None:
        """Close the run and take back what it sighted and counted (as SQLiteStore does).

        The relationships the run counted are read first, with the evidence the upsert kept
        from before the run; the write then restores it where the run is still the last to
        have counted it, the sightings, and closes the run, all in one write.
        """
        st = self.statements
        params = {"run_id": run.run_id}
        evidence = len(REL_EVIDENCE)
        rows = []
        for row in self.transport.read(st.abandoned_rels, params):
            src, dst, uid, previous, prev_run, legacy = row[0], row[1], row[2], row[3:3 + evidence], row[-2], row[-1]
            if all(value is None for value in previous) and legacy is not None:
                previous = codec.loads(legacy)  # kept as one JSON list by an earlier version
            rows.append([src, dst, uid, *previous, prev_run])
        units = [Unit(st.restore_rel_evidence, {"rows": chunk, "run_id": run.run_id})
                 for chunk in _chunks(rows, self.batch_size)]
        units.append(Unit(st.abandon_sightings, params, BOOKKEEPING))
        units.append(Unit(st.upsert_runs, {"rows": [codec.run_row(run)]}, BOOKKEEPING))
        self.transport.write(units)

    def sighting_scopes(self, source: str, prefix: str) -> list[str]:
        params = {"source": source, "prefix": prefix}
        return [r[0] for r in self.transport.read(self.statements.sighting_scopes, params, BOOKKEEPING)]

    # -- aging primitives -----------------------------------------------------------
    def mark_missed(self, source: str, scope: str, run_id: str) -> int:
        """In pages of ``batch_size`` sightings, each its own transaction."""
        total = 0
        after = ""
        skey = codec.scope_key(source, scope)
        while True:
            params = {"skey": skey, "run_id": run_id, "after": after, "limit": self.batch_size}
            rows = self.transport.write([Unit(self.statements.mark_missed_page, params, BOOKKEEPING)])
            changed = int(rows[0][0]) if rows else 0
            total += changed
            if changed < self.batch_size:
                return total
            after = rows[0][1]

    def aging_candidates(
        self, source: str, scope: str, run_id: str, after_uid: str | None, limit: int
    ) -> list[AgingCandidate]:
        st = self.statements
        params = {"skey": codec.scope_key(source, scope), "run_id": run_id, "after": after_uid or "", "limit": limit}
        page = self.transport.read(st.aging_page, params, BOOKKEEPING)
        if not page:
            return []
        uids = [r[0] for r in page]
        summary = {r[0]: (int(r[1]), int(r[2]))
                   for r in self.transport.read(st.sighting_summary, {"uids": uids}, BOOKKEEPING)}
        ci_info = {r[0]: (r[1], r[2]) for r in self.transport.read(st.ci_status, {"uids": uids})}
        rel_uids = [u for u, kind in page if kind != "ci"]
        rel_info = {u: r.status.value for u, r in self.get_relationships(rel_uids).items()} if rel_uids else {}
        result: list[AgingCandidate] = []
        for uid, kind in page:
            missed, last_seen = summary[uid]
            if kind == "ci":
                if uid in ci_info:
                    cls, status = ci_info[uid]
                    result.append(AgingCandidate("ci", uid, cls, status, missed, last_seen))
            elif uid in rel_info:
                result.append(AgingCandidate("rel", uid, None, rel_info[uid], missed, last_seen))
        return result
